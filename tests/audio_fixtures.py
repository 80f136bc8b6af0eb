"""Short test audio generated on the fly: a 'song' with a voice-like tone and a beat."""

from __future__ import annotations

import subprocess
import wave

import numpy as np

from separation.audio import ffmpeg_exe


def synth_song(
    seconds: float = 4.0, rate: int = 44100, channels: int = 2, seed: int = 0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    # "Vocal": a vibrato tone with harmonics; "accompaniment": bass line, noise hats, kick.
    vibrato = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(vibrato) / rate
    voice = 0.25 * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase))
    voice *= np.sin(2 * np.pi * 0.5 * t) > -0.3
    bass = 0.2 * np.sin(2 * np.pi * 55 * t)
    beat = (np.mod(t, 0.5) < 0.05) * np.sin(2 * np.pi * 60 * t) * 0.5
    hats = (np.mod(t + 0.25, 0.5) < 0.02) * rng.normal(0, 0.1, t.size)
    left = voice + bass + beat + hats
    right = voice * 0.9 + bass + beat * 0.8 + hats
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    if channels == 1:
        return stereo.mean(axis=1, keepdims=True)
    return stereo


def write_wav(path, samples: np.ndarray, rate: int = 44100) -> str:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(pcm.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return str(path)


def write_song(
    path, seconds: float = 4.0, rate: int = 44100, channels: int = 2, codec_args=()
) -> str:
    """A generated song at `path`; the extension picks the format (wav written directly)."""
    path = str(path)
    samples = synth_song(seconds, rate, channels)
    if path.endswith(".wav") and not codec_args:
        return write_wav(path, samples, rate)
    tmp = path + ".src.wav"
    write_wav(tmp, samples, rate)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", tmp, *codec_args, path], check=True)
    return path
