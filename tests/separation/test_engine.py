"""The chunked engine against Spleeter's own whole-file separation, on generated audio."""

from __future__ import annotations

import numpy as np
import pytest

from separation import catalog
from separation.engines.spleeter import FRAME_STEP, SEGMENT_FRAMES, SpleeterEngine
from tests.audio_fixtures import synth_song
from tests.separation.checkpoints import generate_checkpoint

SEGMENT_SECONDS = SEGMENT_FRAMES * FRAME_STEP / 44100


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-difference ratio in dB."""
    noise = ((reference - estimate) ** 2).sum()
    return float(10 * np.log10((reference**2).sum() / max(noise, 1e-20)))


@pytest.fixture(scope="module")
def two_stems():
    if not catalog.is_installed("2stems"):
        pytest.fail(
            "The 2stems model is not installed: run `python manage.py install_models 2stems`."
        )
    return SpleeterEngine(catalog.ALL_MODELS["spleeter:2stems"], chunk_segments=1)


@pytest.fixture(scope="module")
def spleeter_2stems():
    from django.conf import settings
    from spleeter.model.provider import ModelProvider
    from spleeter.separator import Separator

    ModelProvider.DEFAULT_MODEL_PATH = str(settings.MODEL_PATH)
    return Separator("spleeter:2stems", multiprocess=False)


@pytest.mark.parametrize("seconds", [2.5, SEGMENT_SECONDS * 2 + 0.37])
def test_it_gives_spleeters_whole_file_output_in_chunks(two_stems, spleeter_2stems, seconds):
    song = synth_song(seconds, seed=3)
    ours = two_stems.separate(song)
    reference = spleeter_2stems.separate(song)
    for stem in ("vocals", "accompaniment"):
        assert ours[stem].shape == song.shape
        assert sdr(reference[stem], ours[stem]) > 90, stem


def test_it_keeps_every_frame_of_an_odd_length_input_fed_in_odd_blocks(two_stems):
    song = synth_song(13.0, seed=4)[:573_331]
    blocks = [song[i : i + 77_777] for i in range(0, len(song), 77_777)]
    streamed: dict[str, list[np.ndarray]] = {stem: [] for stem in two_stems.stems}
    for out in two_stems.separate_stream(blocks):
        for stem, samples in out.items():
            streamed[stem].append(samples)
    whole = two_stems.separate(song)
    for stem in two_stems.stems:
        joined = np.concatenate(streamed[stem])
        assert len(joined) == len(song)
        assert sdr(whole[stem], joined) > 90


def test_it_separates_into_stems_that_sum_back_to_the_mixture(two_stems):
    song = synth_song(3.0, seed=5)
    out = two_stems.separate(song)
    # Ratio masks sum to one below 11 kHz; the generated song has nothing above.
    assert sdr(song, out["vocals"] + out["accompaniment"]) > 20
    assert sdr(song, out["vocals"]) < 15  # really split, not copied


def test_it_stops_when_the_chunk_callback_says_so(two_stems):
    from separation.engines.base import Cancelled

    song = synth_song(SEGMENT_SECONDS * 3, seed=6)
    seen = []

    def on_chunk(seconds, index):
        seen.append(index)
        return index < 2

    with pytest.raises(Cancelled):
        for _ in two_stems.separate_stream([song], on_chunk=on_chunk):
            pass
    assert seen == [1, 2]


def test_it_runs_the_four_stem_architecture_from_a_generated_checkpoint(tmp_path):
    from spleeter.model.provider import ModelProvider
    from spleeter.separator import Separator

    generate_checkpoint("4stems", tmp_path / "4stems")
    spec = catalog.ALL_MODELS["spleeter:4stems"]
    engine = SpleeterEngine(spec, chunk_segments=1, model_dir=str(tmp_path / "4stems"))
    song = synth_song(SEGMENT_SECONDS + 1.3, seed=8)
    ours = engine.separate(song)
    assert set(ours) == {"vocals", "drums", "bass", "other"}

    previous = ModelProvider.DEFAULT_MODEL_PATH
    ModelProvider.DEFAULT_MODEL_PATH = str(tmp_path)
    try:
        reference = Separator("spleeter:4stems", multiprocess=False).separate(song)
    finally:
        ModelProvider.DEFAULT_MODEL_PATH = previous
    for stem in spec.stems:
        assert np.abs(reference[stem]).max() > 1e-4, stem
        assert sdr(reference[stem], ours[stem]) > 80, stem


@pytest.mark.parametrize("rate,channels", [(48000, 1), (22050, 2)])
def test_it_matches_spleeter_on_decoded_mono_and_resampled_input(
    two_stems, spleeter_2stems, tmp_path, rate, channels
):
    from separation import audio
    from tests.audio_fixtures import write_song

    path = write_song(
        tmp_path / "in.wav", seconds=SEGMENT_SECONDS + 2.1, rate=rate, channels=channels
    )
    waveform = np.concatenate(list(audio.decode(path, audio.probe(path))))
    assert waveform.shape[1] == 2 and abs(len(waveform) - (SEGMENT_SECONDS + 2.1) * 44100) < 2
    ours = two_stems.separate(waveform)
    reference = spleeter_2stems.separate(waveform)
    for stem in ("vocals", "accompaniment"):
        assert sdr(reference[stem], ours[stem]) > 90, stem
