"""The HTML pages through Django's test client: what each page shows, and to whom."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from separation.models import Job, JobStatus
from tests.audio_fixtures import write_song
from tests.web.helpers import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- Public pages -------------------------------------------------------------------------------


def test_it_shows_the_landing_page_to_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Split any song" in response.content
    assert reverse("account_signup").encode() in response.content


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_it_renders_the_account_pages_in_our_layout(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert b'class="card auth-card"' in response.content
    assert b"css/app.css" in response.content


def test_it_shows_login_errors_next_to_the_form(client, owner):
    response = client.post("/accounts/login/", {"login": owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content


def test_it_signs_up_a_user_into_a_personal_workspace(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    dashboard = client.get("/")
    assert b"Dashboard" in dashboard.content


@pytest.mark.parametrize("name", ["upload", "job-list", "keys", "workspace"])
def test_it_sends_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Dashboard and upload -------------------------------------------------------------------------


def test_it_shows_the_dashboard_with_recent_jobs(owner_client, workspace):
    make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.get("/")
    assert response.status_code == 200
    assert b"Recent jobs" in response.content
    assert b"song.wav" in response.content


def test_it_shows_the_upload_form_with_labelled_choices(owner_client):
    response = owner_client.get(reverse("upload"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_file"' in content
    assert 'name="stems"' in content and 'value="4"' in content and 'value="5"' in content
    assert 'name="format"' in content and 'value="flac"' in content
    assert "data-max-bytes" in content


def _song(tmp_path, name="song.wav", seconds=1.5):
    return open(write_song(os.path.join(tmp_path, name), seconds=seconds), "rb")


def test_it_uploads_a_song_and_queues_a_job(owner_client, workspace, tmp_path):
    with _song(tmp_path) as handle:
        response = owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "2", "quality": "standard", "format": "wav"},
        )
    job = Job.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response["Location"] == reverse("job-detail", args=[job.id])
    assert job.status == JobStatus.QUEUED
    assert job.upload.filename == "song.wav"


def test_it_answers_the_upload_script_in_json(owner_client, workspace, tmp_path):
    with _song(tmp_path) as handle:
        response = owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "2", "quality": "standard", "format": "mp3"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 201
    job = Job.objects.get(workspace=workspace)
    assert response.json() == {"job": job.id, "redirect": reverse("job-detail", args=[job.id])}
    assert job.format == "mp3"


def test_it_shows_a_non_audio_file_error_next_to_the_file_field(owner_client, workspace, tmp_path):
    fake = tmp_path / "notes.mp3"
    fake.write_text("these are not sounds\n" * 50)
    with open(fake, "rb") as handle:
        response = owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "2", "quality": "standard", "format": "wav"},
        )
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert b'data-error-for="file"' in response.content
    assert not Job.objects.filter(workspace=workspace).exists()
    assert not workspace.uploads.exists()


def test_it_refuses_a_file_over_the_limit_with_its_size(
    owner_client, workspace, tmp_path, settings
):
    settings.UPLOAD_MAX_BYTES = 50_000
    with _song(tmp_path, seconds=2) as handle:
        response = owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "2", "quality": "standard", "format": "wav"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 400
    [message] = response.json()["errors"]["file"]
    assert "largest accepted" in message
    assert not workspace.uploads.exists()


def test_it_reports_an_uninstalled_model_next_to_the_stems_choice(
    owner_client, workspace, tmp_path, settings
):
    settings.MODEL_PATH = tmp_path / "no-models"
    with _song(tmp_path) as handle:
        response = owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "5", "quality": "standard", "format": "wav"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 400
    assert "not installed" in response.json()["errors"]["stems"][0]
    assert not workspace.uploads.exists()  # the upload of a refused job is not kept


def test_it_streams_uploads_to_a_temporary_file(owner_client, workspace, tmp_path, monkeypatch):
    seen = {}
    from separation import services

    real = services.create_upload

    def spy(ws, local_path, filename, **kwargs):
        seen["path"] = local_path
        return real(ws, local_path, filename, **kwargs)

    monkeypatch.setattr(services, "create_upload", spy)
    with _song(tmp_path, seconds=0.5) as handle:  # small enough to be kept in memory by default
        owner_client.post(
            reverse("upload"),
            {"file": handle, "stems": "2", "quality": "standard", "format": "wav"},
        )
    assert seen["path"] and not os.path.exists(seen["path"])  # a temp file, removed afterwards


# --- Jobs -----------------------------------------------------------------------------------------


def test_it_lists_only_the_workspaces_own_jobs(owner_client, workspace, outsider_workspace):
    mine = make_job(workspace)
    theirs = make_job(outsider_workspace)
    response = owner_client.get(reverse("job-list"))
    assert mine.id.encode() in response.content
    assert theirs.id.encode() not in response.content


def live_url(content: str) -> str:
    import re

    match = re.search(r'hx-get="([^"]+\?v=[0-9a-f]+)"', content)
    assert match is not None, "no live hx-get URL on the page"
    return match.group(1).replace("&amp;", "&")


def test_it_polls_the_job_list_fast_while_a_job_runs_and_slowly_after(owner_client, workspace):
    job = make_job(workspace, JobStatus.PROCESSING, progress=40)
    response = owner_client.get(reverse("job-list"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert 'hx-trigger="every 2s"' in content
    assert "<html" not in content and job.id in content
    # Nothing changed: 204, which htmx leaves unswapped (focus and scroll stay where they were).
    assert owner_client.get(live_url(content), HTTP_HX_REQUEST="true").status_code == 204
    Job.objects.filter(id=job.id).update(status=JobStatus.COMPLETED, progress=100)
    response = owner_client.get(live_url(content), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'hx-trigger="every 10s"' in response.content
    assert b"Completed" in response.content


def test_it_shows_a_job_started_elsewhere_on_an_idle_job_list(owner_client, workspace):
    content = owner_client.get(reverse("job-list")).content.decode()
    assert "No jobs yet" in content and 'hx-trigger="every 10s"' in content
    job = make_job(workspace, JobStatus.QUEUED)  # e.g. through the API
    response = owner_client.get(live_url(content), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert job.id.encode() in response.content and b'hx-trigger="every 2s"' in response.content


def test_it_refreshes_the_dashboard_stats_and_recent_jobs(owner_client, workspace):
    job = make_job(workspace, JobStatus.PROCESSING, progress=10)
    content = owner_client.get("/").content.decode()
    assert 'id="dashboard-live"' in content and 'hx-trigger="every 2s"' in content
    assert owner_client.get(live_url(content), HTTP_HX_REQUEST="true").status_code == 204
    Job.objects.filter(id=job.id).update(progress=60)
    response = owner_client.get(live_url(content), HTTP_HX_REQUEST="true")
    partial = response.content.decode()
    assert response.status_code == 200 and "<html" not in partial
    assert 'aria-valuenow="60"' in partial and "Recent jobs" in partial


def test_it_never_shows_another_workspaces_job_in_a_refresh(
    owner_client, workspace, outsider_workspace
):
    content = owner_client.get("/").content.decode()
    theirs = make_job(outsider_workspace, JobStatus.PROCESSING)
    for url in (live_url(content), reverse("job-list")):
        response = owner_client.get(url, HTTP_HX_REQUEST="true")
        assert theirs.id.encode() not in response.content


def test_it_polls_the_job_page_until_the_job_is_final(owner_client, workspace):
    job = make_job(workspace, JobStatus.PROCESSING, progress=50)
    live = reverse("job-live", args=[job.id])
    response = owner_client.get(live)
    content = response.content.decode()
    assert 'hx-trigger="every 1s"' in content
    assert 'aria-valuenow="50"' in content
    assert "Time left" in content
    Job.objects.filter(id=job.id).update(status=JobStatus.FAILED, error="boom")
    response = owner_client.get(live)
    assert b"hx-trigger" not in response.content
    assert b"boom" in response.content


def test_it_shows_queue_position_and_event_log(owner_client, workspace):
    job = make_job(workspace, JobStatus.QUEUED)
    response = owner_client.get(reverse("job-detail", args=[job.id]))
    content = response.content.decode()
    assert "Queue position" in content and "#1" in content
    assert "Event log" in content and "queued" in content


def test_it_shows_a_player_and_downloads_per_stem_when_complete(owner_client, workspace):
    job = make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.get(reverse("job-detail", args=[job.id]))
    content = response.content.decode()
    for stem in ("vocals", "accompaniment"):
        assert f'data-stem="{stem}"' in content
        assert f'href="/api/v1/separations/{job.id}/stems/{stem}"' in content
    assert content.count("<audio") == 2
    assert f'href="/api/v1/separations/{job.id}/archive"' in content
    assert "120 BPM" in content and "A minor" in content
    assert 'id="stem-peaks"' in content
    assert "hx-trigger" not in content


def test_it_deletes_a_job(owner_client, workspace):
    job = make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.post(reverse("job-delete", args=[job.id]))
    assert response.status_code == 302
    assert not Job.objects.filter(id=job.id).exists()


def test_it_cancels_a_queued_job(owner_client, workspace):
    job = make_job(workspace, JobStatus.QUEUED)
    response = owner_client.post(reverse("job-cancel", args=[job.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


@pytest.mark.parametrize(
    "name,method",
    [
        ("job-detail", "get"),
        ("job-live", "get"),
        ("job-cancel", "post"),
        ("job-delete", "post"),
        ("job-mix", "post"),
    ],
)
def test_it_returns_404_for_another_workspaces_job(owner_client, outsider_workspace, name, method):
    job = make_job(outsider_workspace, JobStatus.COMPLETED)
    response = getattr(owner_client, method)(reverse(name, args=[job.id]))
    assert response.status_code == 404
    assert Job.objects.filter(id=job.id, status=JobStatus.COMPLETED).exists()


# --- API keys and workspace -----------------------------------------------------------------------


def test_it_creates_a_key_and_shows_it_once(owner_client, workspace):
    response = owner_client.post(reverse("keys"), {"name": "Laptop"})
    raw = response.context["raw_key"]
    assert raw.encode() in response.content
    assert b"data-copy" in response.content
    key = ApiKey.objects.authenticate(raw)
    assert key is not None
    assert key.workspace == workspace and key.name == "Laptop"
    again = owner_client.get(reverse("keys"))
    assert raw.encode() not in again.content
    assert key.masked.encode() in again.content


def test_it_returns_the_keys_panel_to_htmx(owner_client):
    response = owner_client.post(reverse("keys"), {"name": "CI"}, HTTP_HX_REQUEST="true")
    assert b'id="keys-panel"' in response.content
    assert b"<html" not in response.content


def test_it_revokes_a_key(owner_client, workspace):
    owner_client.post(reverse("keys"), {"name": "Old"})
    key = workspace.api_keys.get()
    response = owner_client.post(reverse("key-revoke", args=[key.id]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert not key.is_active


def test_it_cannot_revoke_another_workspaces_key(owner_client, outsider_workspace):
    from accounts.services import create_api_key

    key, _ = create_api_key(outsider_workspace, "Theirs")
    response = owner_client.post(reverse("key-revoke", args=[key.id]))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.is_active


def test_it_shows_members_and_usage_of_the_workspace(owner_client, workspace, outsider):
    from tests.factories import add_member

    add_member(workspace, outsider)
    make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.get(reverse("workspace"))
    content = response.content.decode()
    assert "owner@example.com" in content and "outsider@example.com" in content
    assert 'id="usage-data"' in content


def test_it_exports_the_mixers_settings_as_a_mix(owner_client, workspace):
    job = make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.post(
        reverse("job-mix", args=[job.id]),
        data={
            "format": "wav",
            "tracks": [
                {"stem": "vocals", "volume": 1, "pan": 0, "mute": True},
                {"stem": "accompaniment", "volume": 0.8, "pan": -0.5, "mute": False},
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    mix = job.mixes.get()
    assert mix.tracks[0]["volume"] == 0.0  # muted
    download = owner_client.get(response.json()["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:4] == b"RIFF"


def test_it_explains_a_refused_mix(owner_client, workspace):
    job = make_job(workspace, JobStatus.COMPLETED)
    response = owner_client.post(
        reverse("job-mix", args=[job.id]),
        data={"tracks": [{"stem": "kazoo"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "kazoo" in response.json()["error"]["message"]
