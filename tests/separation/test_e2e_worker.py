"""End to end: a real Celery worker process, the real broker, the API, the real engine."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile

import pytest

from separation import audio
from separation.models import Job, JobStatus
from tests.audio_fixtures import write_song
from tests.conftest import on_plan
from tests.factories import UserFactory, api_key_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for(client, job_id, statuses, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/separations/{job_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {body['status']} after {timeout} s: {body}")


@pytest.fixture
def key_client(client):
    user = UserFactory.create(email="e2e@example.com")
    workspace = on_plan(user.default_workspace(), "custom")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key_for(workspace)[1]}"
    return client


def test_it_uploads_separates_on_a_worker_and_downloads(
    celery_worker_process, key_client, tmp_path
):
    path = write_song(tmp_path / "e2e song.wav", seconds=3.0)
    with open(path, "rb") as handle:
        upload = key_client.post("/api/v1/uploads", {"file": handle})
    assert upload.status_code == 201, upload.content
    created = key_client.post(
        "/api/v1/separations",
        {"upload": upload.json()["id"], "format": "flac"},
        content_type="application/json",
    )
    assert created.status_code == 202, created.content

    body = wait_for(key_client, created.json()["id"], {"completed", "failed"})
    assert body["status"] == "completed", body
    assert body["progress"] == 100
    assert {o["stem"] for o in body["outputs"]} == {"vocals", "accompaniment"}
    assert any(e["message"].startswith("separating") for e in body["events"])

    stem = key_client.get(f"/api/v1/separations/{body['id']}/stems/vocals")
    assert stem.status_code == 200
    local = tmp_path / "vocals.flac"
    local.write_bytes(b"".join(stem.streaming_content))
    info = audio.probe(str(local))
    assert info.codec == "flac" and abs(info.duration_ms - 3000) < 50

    archive = key_client.get(f"/api/v1/separations/{body['id']}/archive")
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).namelist()
    assert len(names) == 2 and all(name.endswith(".flac") for name in names)


def test_it_retries_a_job_whose_worker_was_killed_and_finishes_it(key_client, tmp_path, settings):
    from tests.worker import WorkerProcess

    path = write_song(tmp_path / "long.wav", seconds=40.0)
    with open(path, "rb") as handle:
        upload_id = key_client.post("/api/v1/uploads", {"file": handle}).json()["id"]
    fast_reaper = {
        "JOB_STALE_SECONDS": "6",
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_REAPER_SECONDS": "2",
    }

    first = WorkerProcess(tmp_path / "first.log", fast_reaper)
    try:
        first.wait_ready()
        job_id = key_client.post(
            "/api/v1/separations", {"upload": upload_id}, content_type="application/json"
        ).json()["id"]
        wait_for(key_client, job_id, {"processing"}, timeout=120)
        # The whole worker dies at once (SIGKILL, as the kernel's OOM killer would).
        pool = first.pool_pids()
        os.killpg(first.process.pid, signal.SIGKILL)
        assert pool
    finally:
        first.stop()
    assert Job.objects.get(id=job_id).status == JobStatus.PROCESSING

    second = WorkerProcess(tmp_path / "second.log", fast_reaper, beat=True)
    try:
        second.wait_ready()
        body = wait_for(key_client, job_id, {"completed", "failed"}, timeout=300)
    finally:
        second.stop()
    assert body["status"] == "completed", body
    job = Job.objects.get(id=job_id)
    assert job.attempts == 2
    assert "worker lost; retrying" in [e["message"] for e in body["events"]]
