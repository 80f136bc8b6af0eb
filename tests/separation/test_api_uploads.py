import os

import pytest

from separation.models import Upload
from tests.audio_fixtures import write_song


@pytest.fixture
def upload_tmp(settings, tmp_path):
    """Uploads spool to this folder, so a test can see that nothing is left behind."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def media_files(settings):
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def post_raw(api, data: bytes, filename: str | None, content_type="application/octet-stream"):
    headers = {}
    if filename is not None:
        headers["HTTP_CONTENT_DISPOSITION"] = f'attachment; filename="{filename}"'
    return api.post("/api/v1/uploads", data=data, content_type=content_type, **headers)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_it_accepts_a_multipart_upload(api, workspace, tmp_path, upload_tmp, settings):
    path = write_song(tmp_path / "Track 01.wav", seconds=2)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/uploads", {"file": handle})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "filename",
        "size",
        "duration",
        "sample_rate",
        "channels",
        "expires_at",
    }
    assert body["id"].startswith("upl_")
    assert body["filename"] == "Track 01.wav"
    assert body["size"] == os.path.getsize(path)
    assert body["duration"] == pytest.approx(2.0, abs=0.05)
    assert isinstance(body["duration"], float)
    assert (body["sample_rate"], body["channels"]) == (44100, 2)
    upload = workspace.uploads.get(id=body["id"])
    with upload.file.open("rb") as stored:
        assert stored.read() == open(path, "rb").read()
    assert list(upload_tmp.iterdir()) == []


def test_it_streams_a_large_multipart_upload_through_a_temporary_file(
    api, workspace, tmp_path, upload_tmp, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force Django's on-disk upload handler
    path = write_song(tmp_path / "big.flac", seconds=3)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/uploads", {"file": handle})
    assert response.status_code == 201, response.content
    assert response.json()["duration"] == pytest.approx(3.0, abs=0.05)
    assert list(upload_tmp.iterdir()) == []


def test_it_accepts_a_raw_body_with_content_disposition(api, workspace, tmp_path, upload_tmp):
    path = write_song(tmp_path / "x.mp3", seconds=2)
    data = open(path, "rb").read()
    response = post_raw(api, data, "Live at Home.mp3", content_type="audio/mpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == "Live at Home.mp3"
    assert body["size"] == len(data)
    assert body["duration"] == pytest.approx(2.0, abs=0.1)
    assert workspace.uploads.filter(id=body["id"], container="mp3").exists()
    assert list(upload_tmp.iterdir()) == []


def test_it_reads_an_rfc_5987_filename(api, tmp_path):
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    response = api.post(
        "/api/v1/uploads",
        data=data,
        content_type="audio/wav",
        HTTP_CONTENT_DISPOSITION="attachment; filename*=UTF-8''Caf%C3%A9.wav",
    )
    assert response.status_code == 201, response.content
    assert response.json()["filename"] == "Café.wav"


def test_it_keeps_only_the_base_name_of_a_path_like_filename(api, tmp_path):
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    response = post_raw(api, data, "../../etc/evil.wav")
    assert response.status_code == 201
    assert response.json()["filename"] == "evil.wav"


def test_it_rejects_an_empty_multipart_file(api, tmp_path, upload_tmp, settings):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with open(empty, "rb") as handle:
        response = api.post("/api/v1/uploads", {"file": handle})
    assert_error(response, 400, "empty_file")
    assert Upload.objects.count() == 0
    assert list(upload_tmp.iterdir()) == []


def test_it_rejects_an_empty_raw_body(api, upload_tmp):
    assert_error(post_raw(api, b"", "song.wav"), 400, "empty_file")
    assert list(upload_tmp.iterdir()) == []


def test_it_rejects_a_text_file_with_an_audio_name(api, upload_tmp, settings):
    response = post_raw(api, b"hello world, not audio\n" * 50, "song.mp3")
    error = assert_error(response, 400, "invalid_audio")
    assert "song.mp3" in error["message"]
    assert Upload.objects.count() == 0
    assert media_files(settings) == []
    assert list(upload_tmp.iterdir()) == []


def test_it_rejects_a_playlist_disguised_as_audio(api):
    response = post_raw(api, b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n", "song.mp3")
    assert_error(response, 400, "invalid_audio")


def test_it_rejects_a_corrupt_audio_file(api, tmp_path, settings):
    data = bytearray(open(write_song(tmp_path / "x.flac", seconds=2), "rb").read())
    for index in range(200, len(data), 7):  # keep the header, garble the frames
        data[index] ^= 0x5A
    response = post_raw(api, bytes(data), "broken.flac")
    assert_error(response, 400, "invalid_audio")
    assert media_files(settings) == []


def test_it_rejects_a_raw_body_without_a_filename(api, tmp_path):
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    error = assert_error(
        post_raw(api, data, None, content_type="audio/wav"), 400, "missing_filename"
    )
    assert "Content-Disposition" in error["message"]
    assert_error(post_raw(api, data, ""), 400, "missing_filename")


def test_it_rejects_multipart_without_a_file_field(api):
    response = api.post("/api/v1/uploads", {"name": "song.wav"})
    # An unknown field is named before anything else is looked at.
    error = assert_error(response, 400, "unknown_field")
    assert "name" in error["message"]
    response = api.post("/api/v1/uploads", {})
    assert_error(response, 400, "missing_file")


def test_it_refuses_a_multipart_file_over_the_limit_without_storing_it(
    api, tmp_path, settings, upload_tmp
):
    settings.UPLOAD_MAX_BYTES = 200 * 1024
    path = write_song(tmp_path / "long.wav", seconds=4)  # ~700 kB
    with open(path, "rb") as handle:
        response = api.post("/api/v1/uploads", {"file": handle})
    error = assert_error(response, 413, "file_too_large")
    assert str(settings.UPLOAD_MAX_BYTES) in error["message"]
    assert Upload.objects.count() == 0
    assert media_files(settings) == []
    assert list(upload_tmp.iterdir()) == []


def test_it_refuses_a_raw_body_over_the_limit_without_storing_it(
    api, tmp_path, settings, upload_tmp
):
    settings.UPLOAD_MAX_BYTES = 1000
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    assert_error(post_raw(api, data, "song.wav"), 413, "file_too_large")
    assert Upload.objects.count() == 0
    assert media_files(settings) == []
    assert list(upload_tmp.iterdir()) == []


def test_it_requires_authentication(client, db, tmp_path):
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    response = client.post(
        "/api/v1/uploads",
        data=data,
        content_type="audio/wav",
        HTTP_CONTENT_DISPOSITION='attachment; filename="a.wav"',
    )
    assert_error(response, 401, "unauthenticated")
    assert Upload.objects.count() == 0


def test_it_records_the_key_and_its_creator(api, workspace, tmp_path, owner):
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    body = post_raw(api, data, "song.wav").json()
    upload = workspace.uploads.get(id=body["id"])
    assert upload.api_key is not None and upload.api_key.workspace == workspace
    assert upload.created_by == owner


def test_it_refuses_a_file_over_the_plan_limit_before_reading_it(
    api, workspace, tmp_path, settings, upload_tmp
):
    from billing.services import plan_for

    plan = plan_for(workspace)
    plan.max_upload_bytes = 1000
    plan.save(update_fields=["max_upload_bytes"])
    data = open(write_song(tmp_path / "x.wav", seconds=1), "rb").read()
    error = assert_error(post_raw(api, data, "song.wav"), 413, "file_too_large")
    assert plan.name in error["message"]
    assert Upload.objects.count() == 0
    assert media_files(settings) == []
    assert list(upload_tmp.iterdir()) == []  # refused from Content-Length: nothing spooled
