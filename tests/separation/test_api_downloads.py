import io
import time
import zipfile
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import signing as django_signing

from separation import audio
from separation.api import signing
from separation.models import Output
from tests.separation.api_helpers import finished_job, upload_song


@pytest.fixture
def job(workspace, tmp_path):
    return finished_job(workspace, tmp_path, name="My Song.wav")


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def local_path(response) -> str:
    """The URL of a link without scheme and host, for the test client."""
    parts = urlsplit(response)
    return f"{parts.path}?{parts.query}"


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def test_it_streams_a_stem_with_a_good_name(api, job):
    response = api.get(f"/api/v1/separations/{job.id}/stems/vocals")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == 'attachment; filename="My Song - vocals.wav"'
    stored = Output.objects.get(job=job, stem="vocals", format="wav")
    with stored.file.open("rb") as handle:
        assert content(response) == handle.read()


def test_it_converts_a_stem_once_to_another_format(api, job, tmp_path):
    response = api.get(f"/api/v1/separations/{job.id}/stems/accompaniment?format=mp3")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert "My Song - accompaniment.mp3" in response["Content-Disposition"]
    path = tmp_path / "got.mp3"
    path.write_bytes(content(response))
    info = audio.probe(str(path))
    assert info.container == "mp3"
    assert info.duration_ms == pytest.approx(2000, abs=100)
    converted = Output.objects.get(job=job, stem="accompaniment", format="mp3")
    again = api.get(f"/api/v1/separations/{job.id}/stems/accompaniment?format=mp3")
    assert again.status_code == 200
    content(again)
    assert Output.objects.filter(job=job, stem="accompaniment", format="mp3").get() == converted


def test_it_rejects_an_unknown_stem_or_format(api, job):
    assert_error(api.get(f"/api/v1/separations/{job.id}/stems/drums"), 404, "not_found")
    error = assert_error(
        api.get(f"/api/v1/separations/{job.id}/stems/vocals?format=ogg"), 400, "invalid_format"
    )
    assert "ogg" in error["message"]


def test_it_refuses_downloads_before_the_job_completed(api, tmp_path):
    upload = upload_song(api, tmp_path)
    job_id = api.post(
        "/api/v1/separations", {"upload": upload["id"]}, content_type="application/json"
    ).json()["id"]
    assert_error(api.get(f"/api/v1/separations/{job_id}/stems/vocals"), 409, "job_not_completed")
    assert_error(api.get(f"/api/v1/separations/{job_id}/archive"), 409, "job_not_completed")


def test_it_zips_all_stems(api, job):
    response = api.get(f"/api/v1/separations/{job.id}/archive")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "My Song - stems.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert sorted(archive.namelist()) == ["My Song - accompaniment.wav", "My Song - vocals.wav"]
    stored = Output.objects.get(job=job, stem="vocals", format="wav")
    with stored.file.open("rb") as handle:
        assert archive.read("My Song - vocals.wav") == handle.read()


def test_it_zips_chosen_stems_in_another_format(api, job):
    response = api.get(f"/api/v1/separations/{job.id}/archive?format=flac&stems=vocals")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert archive.namelist() == ["My Song - vocals.flac"]
    assert archive.read("My Song - vocals.flac")[:4] == b"fLaC"


def test_it_rejects_unknown_stems_in_an_archive(api, job):
    error = assert_error(
        api.get(f"/api/v1/separations/{job.id}/archive?stems=vocals,piano"), 400, "invalid_stem"
    )
    assert "piano" in error["message"]
    assert_error(
        api.get(f"/api/v1/separations/{job.id}/archive?format=aiff"), 400, "invalid_format"
    )


def test_it_needs_a_key_or_a_signed_link(client, job):
    assert_error(client.get(f"/api/v1/separations/{job.id}/stems/vocals"), 401, "unauthenticated")
    assert_error(client.get(f"/api/v1/separations/{job.id}/archive"), 401, "unauthenticated")


def test_it_serves_the_signed_links_of_the_job_without_a_key(api, client, job):
    body = api.get(f"/api/v1/separations/{job.id}").json()
    vocals = next(output for output in body["outputs"] if output["stem"] == "vocals")
    response = client.get(local_path(vocals["url"]))  # no Authorization header
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert len(content(response)) == vocals["size"]
    archive = client.get(local_path(body["archive_url"]))
    assert archive.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(content(archive))).namelist()) == 2


def test_it_refuses_a_tampered_signature(api, client, job):
    url = api.get(f"/api/v1/separations/{job.id}").json()["outputs"][0]["url"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    token = query["token"][0]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get(f"{parts.path}?{urlencode({'format': 'wav', 'token': tampered})}")
    assert_error(response, 403, "invalid_signature")


def test_it_refuses_a_link_used_for_another_file(api, client, job):
    body = api.get(f"/api/v1/separations/{job.id}").json()
    vocals_url = next(o["url"] for o in body["outputs"] if o["stem"] == "vocals")
    token = parse_qs(urlsplit(vocals_url).query)["token"][0]
    base = f"/api/v1/separations/{job.id}"
    other_stem = client.get(f"{base}/stems/accompaniment?format=wav&token={token}")
    assert_error(other_stem, 403, "invalid_signature")
    other_format = client.get(f"{base}/stems/vocals?format=mp3&token={token}")
    assert_error(other_format, 403, "invalid_signature")
    archive_token = parse_qs(urlsplit(body["archive_url"]).query)["token"][0]
    fewer_stems = client.get(f"{base}/archive?format=wav&stems=vocals&token={archive_token}")
    assert_error(fewer_stems, 403, "invalid_signature")


def test_it_refuses_an_expired_link(client, job, settings):
    settings.SIGNED_URL_MAX_AGE = 60

    class SignedTwoMinutesAgo(django_signing.TimestampSigner):
        def timestamp(self):
            return django_signing.b62_encode(int(time.time()) - 120)

    payload = {"w": job.workspace_id, "j": job.id, "k": "stem:vocals", "f": "wav", "s": ""}
    token = SignedTwoMinutesAgo(salt=signing.SALT).sign_object(payload)
    response = client.get(f"/api/v1/separations/{job.id}/stems/vocals?format=wav&token={token}")
    error = assert_error(response, 403, "link_expired")
    assert "expired" in error["message"]
    # The same link, signed now, works: only its age was wrong.
    fresh = signing.make_token(job, "stem:vocals", "wav")
    ok = client.get(f"/api/v1/separations/{job.id}/stems/vocals?format=wav&token={fresh}")
    assert ok.status_code == 200


def test_it_does_not_open_another_workspaces_job_with_a_link_signed_for_its_own(
    client, workspace, outsider_workspace, tmp_path
):
    (tmp_path / "mine").mkdir()
    (tmp_path / "theirs").mkdir()
    mine = finished_job(workspace, tmp_path / "mine")
    theirs = finished_job(outsider_workspace, tmp_path / "theirs")
    token = signing.make_token(mine, "stem:vocals", "wav")
    response = client.get(f"/api/v1/separations/{theirs.id}/stems/vocals?format=wav&token={token}")
    assert_error(response, 403, "invalid_signature")


def test_it_separates_an_upload_end_to_end_with_the_real_engine(api, client, tmp_path, settings):
    from separation.runner import run_job

    settings.JOB_HEARTBEAT_SECONDS = 3600  # no second database connection during the test
    upload = upload_song(api, tmp_path, "Tune.wav", seconds=3)
    job_id = api.post(
        "/api/v1/separations", {"upload": upload["id"]}, content_type="application/json"
    ).json()["id"]
    assert run_job(job_id) == "completed"
    body = api.get(f"/api/v1/separations/{job_id}").json()
    assert body["status"] == "completed" and body["progress"] == 100
    assert [o["stem"] for o in body["outputs"]] == ["vocals", "accompaniment"]
    for output in body["outputs"]:
        response = client.get(local_path(output["url"]))
        assert response.status_code == 200
        path = tmp_path / f"{output['stem']}.wav"
        path.write_bytes(content(response))
        info = audio.probe(str(path))
        assert (info.sample_rate, info.channels) == (44100, 2)
        assert info.duration_ms == pytest.approx(3000, abs=30)
    mp3 = api.get(f"/api/v1/separations/{job_id}/stems/vocals?format=mp3")
    assert mp3.status_code == 200 and mp3["Content-Type"] == "audio/mpeg"
    archive = client.get(local_path(body["archive_url"]))
    assert sorted(zipfile.ZipFile(io.BytesIO(content(archive))).namelist()) == [
        "Tune - accompaniment.wav",
        "Tune - vocals.wav",
    ]
