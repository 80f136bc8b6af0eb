"""POST/GET /api/v1/separations/{id}/mixes and the mix file."""

from __future__ import annotations

import numpy as np
import pytest

from separation import audio
from separation.runner import run_job
from tests.separation.api_helpers import finished_job, stored_upload

pytestmark = pytest.mark.django_db


def decode_bytes(tmp_path, response, name) -> np.ndarray:
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return np.concatenate(list(audio.decode(str(path), audio.probe(str(path)))))


def test_it_mixes_vocals_at_volume_zero_into_the_accompaniment(api, workspace, tmp_path):
    from separation import services

    upload = stored_upload(workspace, tmp_path, seconds=2.0)
    job = services.create_job(workspace, upload, {"format": "flac"})
    assert run_job(job.id) == "completed"
    response = api.post(
        f"/api/v1/separations/{job.id}/mixes",
        {
            "tracks": [
                {"stem": "vocals", "volume": 0},
                {"stem": "accompaniment", "volume": 1, "pan": 0},
            ],
            "format": "flac",
            "name": "karaoke",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("mix_") and body["format"] == "flac" and body["size"] > 0

    mixed = api.get(f"/api/v1/separations/{job.id}/mixes/{body['id']}/file")
    assert mixed.status_code == 200
    accompaniment = api.get(f"/api/v1/separations/{job.id}/stems/accompaniment")
    ours = decode_bytes(tmp_path, mixed, "mix.flac")
    theirs = decode_bytes(tmp_path, accompaniment, "acc.flac")
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4

    listed = api.get(f"/api/v1/separations/{job.id}/mixes").json()
    assert [mix["id"] for mix in listed] == [body["id"]]


def test_it_serves_a_mix_through_its_signed_link_without_the_key(api, client, workspace, tmp_path):
    job = finished_job(workspace, tmp_path)
    body = api.post(
        f"/api/v1/separations/{job.id}/mixes",
        {"tracks": [{"stem": "vocals", "pan": -1}], "format": "mp3", "bitrate": 128},
        content_type="application/json",
    ).json()
    del client.defaults["HTTP_AUTHORIZATION"]
    path = body["url"].split("testserver", 1)[1]
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    tampered = client.get(path.replace("token=", "token=x"))
    assert tampered.status_code == 403


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"tracks": [{"stem": "vocals", "volume": 1.5}]}, "volume must be a number from 0 to 1"),
        ({"tracks": [{"stem": "drums"}]}, "not a stem of this job"),
        ({"tracks": []}, "non-empty"),
        ({"tracks": [{"stem": "vocals"}], "format": "ogg"}, "Unknown format"),
        ({"tracks": [{"stem": "vocals"}], "colour": "red"}, "Unknown field"),
    ],
)
def test_it_refuses_a_bad_mix_with_400(api, workspace, tmp_path, payload, message):
    job = finished_job(workspace, tmp_path)
    response = api.post(
        f"/api/v1/separations/{job.id}/mixes", payload, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert job.mixes.count() == 0


def test_it_answers_404_to_another_workspaces_key(api, client, workspace, outsider_key, tmp_path):
    job = finished_job(workspace, tmp_path)
    mix = api.post(
        f"/api/v1/separations/{job.id}/mixes",
        {"tracks": [{"stem": "vocals"}]},
        content_type="application/json",
    ).json()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {outsider_key}"
    assert client.get(f"/api/v1/separations/{job.id}/mixes").status_code == 404
    assert (
        client.post(
            f"/api/v1/separations/{job.id}/mixes",
            {"tracks": [{"stem": "vocals"}]},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/separations/{job.id}/mixes/{mix['id']}/file").status_code == 404
