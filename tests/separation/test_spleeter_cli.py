"""A job's stems are what the plain `spleeter separate` command gives on the same input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from separation import audio, services
from separation.runner import run_job
from tests.audio_fixtures import write_song

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def decode(path) -> np.ndarray:
    return np.concatenate(list(audio.decode(str(path), audio.probe(str(path)))))


@pytest.mark.skipif(
    shutil.which("ffprobe") is None,
    reason="the spleeter command line needs ffprobe on PATH (apt-get install ffmpeg)",
)
def test_it_gives_the_same_stems_as_spleeter_separate(workspace, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from engine import spleeter_cli  # Spleeter 2.4.2 with its own pinned dependencies

    song = write_song(tmp_path / "song.wav", seconds=14.0)
    subprocess.run(
        [
            str(spleeter_cli()),
            "separate",
            "-p",
            "spleeter:2stems",
            "-o",
            str(tmp_path / "cli"),
            song,
        ],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "MODEL_PATH": str(settings.MODEL_PATH)},
    )
    upload = services.create_upload(workspace, song, "song.wav")
    job = services.create_job(workspace, upload, {"format": "wav"})
    assert run_job(job.id) == "completed"
    for output in job.outputs.all():
        theirs = decode(tmp_path / "cli" / "song" / f"{output.stem}.wav")
        ours = decode(output.file.path)
        assert ours.shape == theirs.shape
        noise = ((ours - theirs) ** 2).sum()
        assert 10 * np.log10((theirs**2).sum() / max(noise, 1e-20)) > 60, output.stem
