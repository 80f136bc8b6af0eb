"""Shared set-up of the separation API tests: real files, real services, no engine."""

from __future__ import annotations

from pathlib import Path

from separation import services
from separation.models import Job
from tests.audio_fixtures import write_song


def upload_song(api, tmp_path: Path, name: str = "song.wav", seconds: float = 2.0) -> dict:
    path = write_song(tmp_path / name, seconds)
    with open(path, "rb") as handle:
        response = api.post("/api/v1/uploads", {"file": handle})
    assert response.status_code == 201, response.content
    return response.json()


def stored_upload(workspace, tmp_path: Path, name: str = "My Song.wav", seconds: float = 2.0):
    path = write_song(tmp_path / "source.wav", seconds)
    return services.create_upload(workspace, path, name)


def finished_job(
    workspace, tmp_path: Path, *, fmt: str = "wav", name: str = "My Song.wav", seconds: float = 2.0
) -> Job:
    """A completed 2-stem job whose stems are generated audio, driven through the same service
    functions a worker calls (claim, save outputs, complete) but without the engine: for tests
    about the API around finished jobs, not about separation quality."""
    upload = stored_upload(workspace, tmp_path, name, seconds)
    queued = services.create_job(workspace, upload, {"format": fmt})
    job = services.claim_job(queued.id, "tests")
    assert job is not None
    for stem in ("vocals", "accompaniment"):
        path = write_song(tmp_path / f"{stem}.{fmt}", seconds)
        services.save_output(job, stem, fmt, path)
    assert services.complete_job(job, {"tempo": 120})
    return Job.objects.get(id=job.id)
