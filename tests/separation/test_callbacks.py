"""A job's final state is POSTed to its callback_url."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from separation import services
from separation.tasks import send_callback
from tests.separation.api_helpers import stored_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_it_posts_the_finished_job_to_its_callback_url(workspace, tmp_path, receiver, settings):
    url, received = receiver
    settings.SITE_URL = "https://stems.example.com"
    settings.ALLOWED_HOSTS = ["stems.example.com"]
    upload = stored_upload(workspace, tmp_path)
    job = services.create_job(
        workspace, upload, {"callback_url": url, "custom_metadata": {"track": 7}}
    )
    services.cancel_job(job)
    assert send_callback(job.id) == 204
    [payload] = received
    assert payload["id"] == job.id and payload["status"] == "cancelled"
    assert payload["custom_metadata"] == {"track": 7}


def test_it_does_nothing_for_a_job_without_a_callback(workspace, tmp_path, receiver):
    upload = stored_upload(workspace, tmp_path)
    job = services.create_job(workspace, upload, {})
    assert send_callback(job.id) is None
    assert receiver[1] == []
