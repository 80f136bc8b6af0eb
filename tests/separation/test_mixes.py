"""Server-side mixes of a job's stems."""

from __future__ import annotations

import numpy as np
import pytest

from separation import audio, services
from separation.runner import run_job
from tests.audio_fixtures import write_song

pytestmark = pytest.mark.django_db


@pytest.fixture
def done_job(workspace, tmp_path):
    path = write_song(tmp_path / "song.wav", seconds=2.0)
    upload = services.create_upload(workspace, path, "song.wav")
    job = services.create_job(workspace, upload, {"format": "wav", "bit_depth": 24})
    assert run_job(job.id) == "completed"
    job.refresh_from_db()
    return job


def decoded(path) -> np.ndarray:
    return np.concatenate(list(audio.decode(path, audio.probe(path))))


def test_it_mixes_vocals_at_zero_into_the_accompaniment(done_job):
    mix = services.create_mix(
        done_job,
        [{"stem": "vocals", "volume": 0}, {"stem": "accompaniment", "volume": 1}],
        "wav",
        name="karaoke",
        bit_depth=24,
    )
    ours = decoded(mix.file.path)
    accompaniment = decoded(done_job.outputs.get(stem="accompaniment").file.path)
    assert ours.shape == accompaniment.shape
    assert np.abs(ours - accompaniment).max() < 1e-6
    assert mix.name == "karaoke"
    assert mix.file.name is not None and mix.file.name.endswith("karaoke.wav")


def test_it_pans_a_track_hard_left(done_job):
    mix = services.create_mix(done_job, [{"stem": "vocals", "volume": 0.5, "pan": -1}], "flac")
    samples = decoded(mix.file.path)
    vocals = decoded(done_job.outputs.get(stem="vocals").file.path)
    assert np.abs(samples[:, 1]).max() == 0
    assert np.abs(samples[:, 0] - 0.5 * vocals[:, 0]).max() < 1e-3


@pytest.mark.parametrize(
    "tracks,message",
    [
        ([], "non-empty"),
        ([{"stem": "drums"}], "not a stem of this job"),
        ([{"stem": "vocals", "volume": 1.5}], "volume must be a number from 0 to 1"),
        ([{"stem": "vocals", "pan": -2}], "pan must be a number from -1 to 1"),
        ([{"stem": "vocals", "gain": 1}], "unknown field"),
    ],
)
def test_it_refuses_a_bad_mix_with_a_clear_message(done_job, tracks, message):
    with pytest.raises(services.SeparationError) as error:
        services.create_mix(done_job, tracks, "wav")
    assert message in error.value.message
    assert done_job.mixes.count() == 0
