"""Jobs in a given state for page tests, built through the services on real generated audio."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta

from django.utils import timezone

from separation import services
from separation.models import Job, JobStatus
from separation.options import JobOptions
from tests.audio_fixtures import write_song, write_wav


def make_upload(workspace, seconds: float = 2.0, name: str = "song.wav", user=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_song(os.path.join(tmp, name), seconds=seconds)
        return services.create_upload(workspace, path, name, user=user)


def demo_peaks(seed: int, points: int = 400) -> list[float]:
    """A plausible waveform envelope, as the worker's analysis gives (values 0-1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.arange(points)
    beat = 0.55 + 0.45 * np.abs(np.sin(x * (0.15 + 0.1 * seed)))
    envelope = np.convolve(rng.uniform(0.2, 1.0, points), np.ones(5) / 5, mode="same")
    return [round(float(v), 4) for v in np.clip(beat * envelope, 0, 1)]


def make_job(
    workspace,
    status=JobStatus.QUEUED,
    progress=0,
    seconds: float = 2.0,
    stems=("vocals", "accompaniment"),
    analysis=None,
) -> Job:
    """A job row in `status`; a completed one gets real WAV outputs (copies of its input)."""
    upload = make_upload(workspace, seconds=seconds)
    model = {2: "spleeter:2stems", 4: "spleeter:4stems", 5: "spleeter:5stems"}[len(stems)]
    job = Job.objects.create(
        workspace=workspace,
        upload=upload,
        status=status,
        progress=progress,
        model=model,
        billed_seconds=int(seconds),
        options=JobOptions(model=model).to_json(),
    )
    services.add_event(job, "queued")
    if status in (JobStatus.PROCESSING, JobStatus.COMPLETED, JobStatus.FAILED):
        job.started_at = timezone.now() - timedelta(seconds=10)
    if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        job.finished_at = timezone.now()
    if status == JobStatus.COMPLETED:
        job.progress = 100
        job.analysis = (
            analysis
            if analysis is not None
            else {
                "tempo": 120.0,
                "key": "A minor",
                "peaks": {stem: demo_peaks(index) for index, stem in enumerate(stems)},
            }
        )
        import numpy as np

        with tempfile.TemporaryDirectory() as tmp:
            for stem in stems:
                path = write_wav(
                    os.path.join(tmp, f"{stem}.wav"), np.zeros((44100, 2), dtype=np.float32)
                )
                services.save_output(job, stem, "wav", path)
    job.save()
    return job
