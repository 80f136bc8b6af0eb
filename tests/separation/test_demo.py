"""The landing page's demo: built by `manage.py build_demo` with the real engine, then served."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from separation import audio, demo

SECONDS = 4
MP3S = ("mixture.mp3", "vocals.mp3", "accompaniment.mp3")


def build(root: Path, **options) -> str:
    out = StringIO()
    with override_settings(DEMO_ROOT=root):
        call_command("build_demo", seconds=SECONDS, stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One short demo for the module: the engine takes a while to load, the build a few seconds."""
    root = tmp_path_factory.mktemp("demo")
    build(root)
    return root


@pytest.fixture
def demo_root(settings, built) -> Path:
    settings.DEMO_ROOT = built
    return built


def decoded(path: Path) -> np.ndarray:
    return np.concatenate(list(audio.decode(str(path), audio.probe(str(path)))))


def spectrogram(samples: np.ndarray) -> np.ndarray:
    mono = samples.mean(axis=1)
    frames = np.lib.stride_tricks.sliding_window_view(mono, 2048)[::512] * np.hanning(2048)
    return np.abs(np.fft.rfft(frames, axis=1))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of magnitude spectrograms: 1 for the same sound, near 0 for unrelated
    ones, and indifferent to the few samples an mp3 round trip may shift."""
    n = min(len(a), len(b))
    x, y = spectrogram(a[:n]), spectrogram(b[:n])
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum() + 1e-20))


def energy(samples: np.ndarray) -> float:
    return float(np.square(samples, dtype=np.float64).sum())


# --- The build ----------------------------------------------------------------------------------


def test_it_writes_three_mp3s_of_the_requested_length(built):
    for name in MP3S:
        info = audio.probe(str(built / name))
        assert (info.container, info.codec) == ("mp3", "mp3"), name
        assert (info.sample_rate, info.channels) == (44100, 2), name
        assert abs(info.duration_ms - SECONDS * 1000) <= 60, (name, info.duration_ms)


def test_it_puts_the_voice_in_the_vocals_and_the_rest_in_the_accompaniment(built):
    song = demo.synthesise(SECONDS)
    mixture, vocals, accompaniment = (decoded(built / name) for name in MP3S)
    assert similarity(mixture, song.mixture) > 0.99
    for stem, own, other in (
        (vocals, song.vocals, song.accompaniment),
        (accompaniment, song.accompaniment, song.vocals),
    ):
        assert similarity(stem, own) > 0.8
        assert similarity(stem, own) > similarity(stem, other) + 0.5
    assert 0.5 < energy(vocals) / energy(song.vocals) < 2
    assert 0.5 < energy(accompaniment) / energy(song.accompaniment) < 2


def test_it_writes_the_waveform_peaks_of_each_track(built):
    manifest = json.loads((built / "peaks.json").read_text())
    assert manifest["version"] == demo.VERSION
    assert manifest["duration"] == SECONDS
    assert set(manifest["peaks"]) == {"mixture", "vocals", "accompaniment"}
    for name, peaks in manifest["peaks"].items():
        assert 390 <= len(peaks) <= 401, name
        assert all(0 <= value <= 1 for value in peaks), name
    mixture, vocals = manifest["peaks"]["mixture"], manifest["peaks"]["vocals"]
    assert max(mixture) == pytest.approx(0.89, abs=0.05)  # the song is normalised to -1 dBFS
    # The singer rests at the start: the vocals stem is near silent where the mixture is not.
    assert max(vocals[:10]) < 0.2 * max(mixture[:10])
    assert (built / "peaks.json").stat().st_size < 20_000


def test_it_leaves_a_built_demo_alone(built):
    before = {name: (built / name).stat().st_mtime_ns for name in demo.FILES}
    output = build(built)
    assert "already built" in output
    assert {name: (built / name).stat().st_mtime_ns for name in demo.FILES} == before


def test_it_rebuilds_when_forced(built, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    before = {name: (root / name).stat().st_mtime_ns for name in demo.FILES}
    build(root, force=True)
    for name in demo.FILES:
        assert (root / name).stat().st_mtime_ns != before[name], name
    assert abs(audio.probe(str(root / "vocals.mp3")).duration_ms - SECONDS * 1000) <= 60
    assert sorted(path.name for path in root.iterdir()) == sorted(demo.FILES)  # no staging left


def test_it_asks_for_the_model_when_it_is_missing(settings, tmp_path):
    settings.MODEL_PATH = tmp_path / "no-models"
    with pytest.raises(CommandError, match="install_models 2stems"):
        build(tmp_path / "demo")
    assert not (tmp_path / "demo" / "peaks.json").exists()


def test_it_refuses_a_length_longer_than_the_song(tmp_path):
    with pytest.raises(CommandError, match="--seconds"):
        with override_settings(DEMO_ROOT=tmp_path):
            call_command("build_demo", seconds=demo.LENGTH_SECONDS + 1)


def test_it_synthesises_the_same_song_every_time():
    first, second = demo.synthesise(1.5), demo.synthesise(1.5)
    assert first.vocals.shape == (round(1.5 * 44100), 2)
    assert np.array_equal(first.vocals, second.vocals)
    assert np.array_equal(first.accompaniment, second.accompaniment)
    assert np.abs(first.mixture).max() <= 0.9


# --- Serving ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(demo.FILES))
def test_it_serves_the_demo_files_to_visitors(client, demo_root, name):
    response = client.get(f"/demo/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == demo.FILES[name]
    assert "max-age=31536000" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == (demo_root / name).read_bytes()


@pytest.mark.parametrize(
    "name", ["secret.txt", "mixture.wav", "..%2Fpeaks.json", ".build-x", "drums.mp3"]
)
def test_it_serves_nothing_else(client, demo_root, name):
    secret = demo_root / "secret.txt"
    secret.write_text("not for the web")
    try:
        assert client.get(f"/demo/{name}").status_code == 404
    finally:
        secret.unlink()


def test_it_answers_404_before_the_demo_is_built(client, settings, tmp_path):
    settings.DEMO_ROOT = tmp_path
    assert client.get("/demo/mixture.mp3").status_code == 404
    assert client.get("/demo/peaks.json").status_code == 404


# --- The landing page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_before_after_player_when_the_demo_is_built(client, demo_root):
    content = client.get("/").content.decode()
    assert "data-demo " in content and 'aria-label="Play the demo"' in content
    for name, label in demo.TRACKS:
        assert f'data-demo-track="{name}"' in content and label in content
        assert f"/demo/{name}.mp3?v=" in content
    assert content.count('aria-pressed="true"') == 1
    assert "/demo/peaks.json?v=" in content
    assert "js/demo.js" in content and "wavesurfer.min.js" in content
    assert "mini-wave" not in content


@pytest.mark.django_db
def test_it_shows_decorative_waveforms_until_the_demo_is_built(client, settings, tmp_path):
    settings.DEMO_ROOT = tmp_path
    (tmp_path / "mixture.mp3").write_bytes(b"half a build")  # no peaks.json: not built
    content = client.get("/").content.decode()
    assert "mini-wave" in content
    assert "data-demo" not in content and "js/demo.js" not in content
