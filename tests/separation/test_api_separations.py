import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from separation.models import Job, JobStatus, Output, Upload
from tests.audio_fixtures import write_song
from tests.separation.api_helpers import finished_job, stored_upload, upload_song

REAL_MODELS = Path(django_settings.MODEL_PATH)


@pytest.fixture
def only_2stems(settings, tmp_path):
    """A model folder with just the 2-stem checkpoint, whatever this machine has installed."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "2stems").symlink_to(REAL_MODELS / "2stems")
    settings.MODEL_PATH = models
    return models


def separate(api, payload):
    return api.post("/api/v1/separations", payload, content_type="application/json")


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_it_queues_a_separation_of_an_upload(api, workspace, tmp_path):
    upload = upload_song(api, tmp_path, "Song.wav")
    response = separate(api, {"upload": upload["id"]})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["id"].startswith("job_")
    assert response["Location"].endswith(f"/api/v1/separations/{job['id']}")
    assert job["status"] == "queued"
    assert job["progress"] == 0
    assert job["queue_position"] == 1
    assert isinstance(job["eta_seconds"], float) and job["eta_seconds"] >= 0
    assert job["model"] == "spleeter:2stems"
    assert job["format"] == "wav"
    assert job["stems"] == ["vocals", "accompaniment"]
    assert job["outputs"] == [] and job["archive_url"] is None and job["error"] is None
    assert job["upload"] == {
        "id": upload["id"],
        "filename": "Song.wav",
        "duration": upload["duration"],
    }
    assert [event["message"] for event in job["events"]] == ["queued"]
    assert job["events"][0]["at"]
    assert job["started_at"] is None and job["finished_at"] is None and job["created_at"]
    assert Job.objects.get(id=job["id"]).workspace == workspace


def test_it_takes_every_documented_option(api, tmp_path):
    upload = upload_song(api, tmp_path)
    response = separate(
        api,
        {
            "upload": upload["id"],
            "model": "spleeter:2stems",
            "format": "mp3",
            "bitrate": 192,
            "section": {"start": 0.5, "duration": 1},
            "callback_url": "https://example.com/hook",
            "custom_metadata": {"track": 7},
        },
    )
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["format"] == "mp3"
    assert job["options"]["bitrate"] == 192
    assert job["options"]["section_start"] == 0.5
    assert job["options"]["section_duration"] == 1
    assert job["custom_metadata"] == {"track": 7}
    assert Job.objects.get(id=job["id"]).callback_url == "https://example.com/hook"


def test_it_picks_the_16khz_variant_for_high_quality(api, tmp_path):
    upload = upload_song(api, tmp_path)
    response = separate(
        api, {"upload": upload["id"], "quality": "high", "format": "flac", "bit_depth": 24}
    )
    assert response.status_code == 202, response.content
    assert response.json()["model"] == "spleeter:2stems-16kHz"


def test_it_separates_one_stem_plus_the_rest(api, tmp_path):
    upload = upload_song(api, tmp_path)
    response = separate(api, {"upload": upload["id"], "stems": ["vocals"]})
    assert response.status_code == 202, response.content
    assert response.json()["stems"] == ["vocals", "back"]


def test_it_answers_404_for_an_unknown_upload(api):
    error = assert_error(separate(api, {"upload": "upl_nope"}), 404, "not_found")
    assert "upl_nope" in error["message"]


def test_it_requires_an_upload(api):
    error = assert_error(separate(api, {"format": "wav"}), 400, "invalid_request")
    assert "upload" in error["message"]


def test_it_rejects_unknown_fields_naming_them(api, tmp_path):
    upload = upload_song(api, tmp_path)
    error = assert_error(separate(api, {"upload": upload["id"], "stemz": 4}), 400, "unknown_field")
    assert "stemz" in error["message"]
    assert Job.objects.count() == 0


def test_it_rejects_a_body_that_is_not_an_object(api):
    response = api.post("/api/v1/separations", ["upl_x"], content_type="application/json")
    assert_error(response, 400, "invalid_request")
    response = api.post("/api/v1/separations", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "payload, code, words",
    [
        ({"model": "spleeter:7stems"}, "invalid_model", "spleeter:4stems"),
        ({"format": "ogg"}, "invalid_format", "mp3"),
        ({"stems": 3}, "invalid_request", "2, 4 or 5"),
        ({"stems": ["kazoo"]}, "invalid_stem", "kazoo"),
        ({"format": "wav", "bitrate": 128}, "invalid_format", "bitrate"),
        ({"format": "mp3", "bitrate": 1000}, "invalid_format", "bitrate"),
        ({"section": {"start": 60}}, "invalid_section", "past the end"),
        ({"section": {"start": 0, "duration": -1}}, "invalid_section", "duration"),
        ({"quality": "ultra"}, "invalid_request", "quality"),
        ({"callback_url": "ftp://example.com"}, "invalid_request", "callback_url"),
        ({"custom_metadata": [1, 2]}, "invalid_request", "custom_metadata"),
    ],
)
def test_it_rejects_bad_options_with_a_clear_message(api, tmp_path, payload, code, words):
    upload = upload_song(api, tmp_path)
    error = assert_error(separate(api, {"upload": upload["id"], **payload}), 400, code)
    assert words in error["message"]
    assert Job.objects.count() == 0


def test_it_names_the_installed_models_when_one_is_missing(api, tmp_path, only_2stems):
    upload = upload_song(api, tmp_path)
    error = assert_error(
        separate(api, {"upload": upload["id"], "model": "spleeter:4stems"}),
        400,
        "model_not_installed",
    )
    assert "spleeter:2stems" in error["message"]
    assert "spleeter:4stems" in error["message"]


def test_it_uploads_and_separates_in_one_multipart_call(api, workspace, tmp_path):
    path = write_song(tmp_path / "One Call.wav", seconds=2)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/separations", {"file": handle, "stems": "2", "format": "flac"})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["model"] == "spleeter:2stems" and job["format"] == "flac"
    assert job["upload"]["filename"] == "One Call.wav"
    assert workspace.uploads.filter(id=job["upload"]["id"]).exists()


def test_it_takes_json_fields_in_a_multipart_call(api, tmp_path):
    path = write_song(tmp_path / "a.wav", seconds=2)
    with open(path, "rb") as handle:
        response = api.post(
            "/api/v1/separations",
            {"file": handle, "section": '{"start": 1}', "custom_metadata": '{"a": 1}'},
        )
    assert response.status_code == 202, response.content
    assert response.json()["options"]["section_start"] == 1
    assert response.json()["custom_metadata"] == {"a": 1}


def test_it_leaves_no_upload_behind_when_a_one_call_separation_is_refused(api, tmp_path, settings):
    path = write_song(tmp_path / "a.wav", seconds=2)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/separations", {"file": handle, "stems": "3"})
    error = assert_error(response, 400, "invalid_request")
    assert "stems" in error["message"]
    assert Upload.objects.count() == 0
    assert not any(files for _, _, files in os.walk(settings.MEDIA_ROOT))


def test_it_refuses_unknown_fields_in_a_multipart_call_before_storing(api, tmp_path):
    path = write_song(tmp_path / "a.wav", seconds=2)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/separations", {"file": handle, "colour": "blue"})
    assert "colour" in assert_error(response, 400, "unknown_field")["message"]
    assert Upload.objects.count() == 0


def test_it_shows_a_separation(api, workspace, tmp_path):
    job = finished_job(workspace, tmp_path, name="Mine.wav")
    response = api.get(f"/api/v1/separations/{job.id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "status",
        "progress",
        "queue_position",
        "eta_seconds",
        "model",
        "format",
        "stems",
        "options",
        "events",
        "outputs",
        "archive_url",
        "error",
        "upload",
        "analysis",
        "custom_metadata",
        "created_at",
        "started_at",
        "finished_at",
    }
    assert body["status"] == "completed" and body["progress"] == 100
    assert body["queue_position"] is None and body["eta_seconds"] == 0
    assert body["analysis"] == {"tempo": 120}
    assert [(o["stem"], o["format"]) for o in body["outputs"]] == [
        ("vocals", "wav"),
        ("accompaniment", "wav"),
    ]
    for output in body["outputs"]:
        assert output["size"] == Output.objects.get(job=job, stem=output["stem"]).size
        assert output["url"].startswith("http://testserver/api/v1/separations/")
        assert "token=" in output["url"]
    assert "/archive?" in body["archive_url"]
    assert [e["message"] for e in body["events"]][-1] == "completed"
    assert body["started_at"] and body["finished_at"]


def test_it_lists_separations_newest_first_with_pages(api, workspace, tmp_path):
    upload = stored_upload(workspace, tmp_path)
    ids = [separate(api, {"upload": upload.id}).json()["id"] for _ in range(3)]
    response = api.get("/api/v1/separations?limit=2")
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 3
    assert [job["id"] for job in page["results"]] == ids[::-1][:2]
    assert page["next"]
    second = api.get(page["next"]).json()
    assert [job["id"] for job in second["results"]] == [ids[0]]


def test_it_checks_several_separations_at_once(api, workspace, tmp_path):
    upload = stored_upload(workspace, tmp_path)
    ids = [separate(api, {"upload": upload.id}).json()["id"] for _ in range(3)]
    response = api.get(f"/api/v1/separations?ids={ids[0]},{ids[2]}")
    assert sorted(job["id"] for job in response.json()["results"]) == sorted([ids[0], ids[2]])


def test_it_filters_separations_by_status(api, workspace, tmp_path):
    done = finished_job(workspace, tmp_path)
    separate(api, {"upload": done.upload_id})
    response = api.get("/api/v1/separations?status=completed")
    assert [job["id"] for job in response.json()["results"]] == [done.id]
    assert_error(api.get("/api/v1/separations?status=done"), 400, "invalid_request")


def test_it_cancels_a_queued_separation(api, tmp_path):
    upload = upload_song(api, tmp_path)
    job_id = separate(api, {"upload": upload["id"]}).json()["id"]
    response = api.post(f"/api/v1/separations/{job_id}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["queue_position"] is None
    assert Job.objects.get(id=job_id).status == JobStatus.CANCELLED
    again = api.post(f"/api/v1/separations/{job_id}/cancel")
    error = assert_error(again, 409, "job_not_cancellable")
    assert "cancelled" in error["message"]


def test_it_refuses_to_cancel_a_completed_separation(api, workspace, tmp_path):
    job = finished_job(workspace, tmp_path)
    assert_error(api.post(f"/api/v1/separations/{job.id}/cancel"), 409, "job_not_cancellable")
    assert Job.objects.get(id=job.id).status == JobStatus.COMPLETED


def test_it_deletes_a_separation_and_its_files(api, workspace, tmp_path):
    job = finished_job(workspace, tmp_path)
    paths = [output.file.path for output in job.outputs.all()]
    assert paths and all(os.path.exists(path) for path in paths)
    response = api.delete(f"/api/v1/separations/{job.id}")
    assert response.status_code == 204
    assert not Job.objects.filter(id=job.id).exists()
    assert not any(os.path.exists(path) for path in paths)
    assert_error(api.get(f"/api/v1/separations/{job.id}"), 404, "not_found")


def test_it_deletes_a_queued_separation(api, tmp_path):
    upload = upload_song(api, tmp_path)
    job_id = separate(api, {"upload": upload["id"]}).json()["id"]
    assert api.delete(f"/api/v1/separations/{job_id}").status_code == 204
    assert not Job.objects.filter(id=job_id).exists()


def test_it_answers_404_for_an_unknown_separation(api):
    assert_error(api.get("/api/v1/separations/job_nope"), 404, "not_found")
    assert_error(api.post("/api/v1/separations/job_nope/cancel"), 404, "not_found")
    assert_error(api.delete("/api/v1/separations/job_nope"), 404, "not_found")


def test_it_lists_the_installed_models(api, only_2stems):
    response = api.get("/api/v1/models")
    assert response.status_code == 200
    models = {model["name"]: model for model in response.json()}
    assert set(models) == {"spleeter:2stems", "spleeter:2stems-16kHz"}
    assert models["spleeter:2stems"]["stems"] == ["vocals", "accompaniment"]
    assert models["spleeter:2stems"]["max_frequency"] == 11000
    assert models["spleeter:2stems-16kHz"]["max_frequency"] == 16000
    assert "11 kHz" in models["spleeter:2stems"]["description"]


def test_it_lists_no_model_when_none_is_installed(api, settings, tmp_path):
    settings.MODEL_PATH = tmp_path / "nothing"
    assert api.get("/api/v1/models").json() == []


def test_it_requires_a_key_for_separations(client, db):
    assert_error(client.get("/api/v1/separations"), 401, "unauthenticated")
    assert_error(
        client.post("/api/v1/separations", {}, content_type="application/json"),
        401,
        "unauthenticated",
    )


def test_it_serves_the_openapi_schema_and_docs(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/uploads",
        "/api/v1/separations",
        "/api/v1/separations/{job_id}",
        "/api/v1/separations/{job_id}/cancel",
        "/api/v1/separations/{job_id}/archive",
        "/api/v1/separations/{job_id}/stems/{stem}",
        "/api/v1/models",
        "/api/v1/keys",
        "/api/v1/keys/{key_id}",
    ):
        assert path in paths
    assert "ApiKey" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
