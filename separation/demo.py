"""The landing page's before/after demo: a short song synthesised here, then split by our engine.

We cannot ship real music, so `manage.py build_demo` renders a 12-second song from numpy (a sung
melody over electric piano, pad, bass and drums), separates it with the same engine jobs use and
writes the files listed in FILES into settings.DEMO_ROOT. The song comes from a fixed seed, so
every server builds the same one; the vocal and the accompaniment are rendered apart, so tests
can tell whether the engine's stems are the right way round.

The voice is a source-filter model evaluated harmonic by harmonic: a glottal source (a
sawtooth's 1/k spectrum) whose harmonics are weighted by three vowel formant resonances, with
legato glides, scoops into notes, delayed vibrato and changing vowels. Summing band-limited
harmonics keeps it free of aliasing without any filter code.

This module imports numpy only: the web process reads FILES and built() from here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 44100
TEMPO = 80  # beats per minute: four bars of 4/4 last 12 s
BEAT = 60 / TEMPO
BAR_BEATS = 4
BARS = 4
LENGTH_SECONDS = BARS * BAR_BEATS * BEAT
SEED = 1979
# Bump when the song or the files change: build_demo then rebuilds a demo built by an older one.
VERSION = 1

# name -> content type: the only files the demo view serves.
FILES = {
    "mixture.mp3": "audio/mpeg",
    "vocals.mp3": "audio/mpeg",
    "accompaniment.mp3": "audio/mpeg",
    "peaks.json": "application/json",
}
TRACKS = (("mixture", "Original"), ("vocals", "Vocals"), ("accompaniment", "Accompaniment"))
MANIFEST = "peaks.json"  # written last: its presence means the demo is complete


@dataclass(frozen=True)
class Song:
    """Float32 stereo at SAMPLE_RATE; vocals + accompaniment == mixture."""

    vocals: np.ndarray
    accompaniment: np.ndarray

    @property
    def mixture(self) -> np.ndarray:
        return self.vocals + self.accompaniment

    @property
    def seconds(self) -> float:
        return len(self.vocals) / SAMPLE_RATE


# --- Reading a built demo -----------------------------------------------------------------------


def built(root: Path) -> bool:
    return all((Path(root) / name).is_file() for name in FILES)


def manifest(root: Path) -> dict | None:
    """peaks.json of a complete demo in `root` (with a `version` for cache busting), else None."""
    path = Path(root) / MANIFEST
    if not built(root):
        return None
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read_manifest(str(path), stamp)


@lru_cache(maxsize=4)
def _read_manifest(path: str, stamp: int) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("peaks"), dict):
        return None
    return {**data, "stamp": format(stamp, "x")}


# --- Synthesis ----------------------------------------------------------------------------------

# (first beat, beats, MIDI note, vowel): a phrase in A minor over Am7 | Fmaj7 | C | G.
MELODY = (
    (0.5, 0.5, 64, "a"),
    (1.0, 1.0, 69, "a"),
    (2.0, 0.5, 67, "o"),
    (2.5, 0.5, 69, "o"),
    (3.0, 1.0, 72, "a"),
    (4.0, 1.5, 69, "e"),
    (5.5, 0.5, 67, "e"),
    (6.0, 1.0, 65, "o"),
    (7.5, 0.5, 64, "a"),
    (8.0, 1.0, 64, "a"),
    (9.0, 0.5, 67, "i"),
    (9.5, 0.5, 64, "a"),
    (10.0, 0.5, 62, "o"),
    (10.5, 1.5, 60, "o"),
    (12.0, 1.0, 62, "a"),
    (13.0, 0.5, 64, "e"),
    (13.5, 0.5, 62, "e"),
    (14.0, 1.5, 59, "u"),
)
# Formant frequencies and bandwidths (Hz) of sung vowels, after Peterson & Barney's female voices.
VOWELS = {
    "a": (850, 1220, 2810),
    "e": (610, 1900, 2600),
    "i": (360, 2300, 3000),
    "o": (590, 920, 2710),
    "u": (400, 950, 2670),
}
BANDWIDTHS = (90.0, 110.0, 170.0)
# The tract's higher resonances barely move with the vowel; without them the voice sounds dull.
UPPER_FORMANTS = ((3300.0, 250.0), (3850.0, 300.0), (4900.0, 900.0))
CHORDS = (  # one bar each, voiced around middle C
    (57, 60, 64, 67),  # Am7
    (53, 57, 60, 64),  # Fmaj7
    (55, 60, 64, 67),  # C
    (55, 59, 62, 67),  # G
)
BASS_ROOTS = (45, 41, 48, 43)  # A2 F2 C3 G2
# Per bar, in beats: (first beat, beats, semitones above the root, velocity).
BASS_RHYTHM = ((0.0, 1.4, 0, 1.0), (1.5, 0.9, 0, 0.8), (2.5, 0.4, 12, 0.7), (3.0, 0.9, 7, 0.85))
PIANO_HITS = ((0.0, 1.0), (1.5, 0.7), (3.0, 0.8))  # (beat, velocity): a 3-3-2 pulse
STEP = BEAT / 4  # sixteenth note
KICK_STEPS = (0, 6, 10)
SNARE_STEPS = (4, 12)
CONTROL = 32  # samples between updates of the voice's harmonic weights
TAIL_SECONDS = 2.0  # sounds ringing past the end are folded onto the start: the song loops


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def at(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


def fft_size(n: int) -> int:
    return 1 << (n - 1).bit_length()  # pocketfft is slow on lengths with large prime factors


def smooth(values: np.ndarray, seconds: float) -> np.ndarray:
    """A moving average under a Hann window `seconds` wide (edges held, not pulled to zero)."""
    width = max(3, at(seconds) | 1)
    window = np.hanning(width)
    window /= window.sum()
    padded = np.pad(values, width // 2, mode="edge")
    n = fft_size(len(padded) + width - 1)  # by FFT: the windows are thousands of samples wide
    full = np.fft.irfft(np.fft.rfft(padded, n) * np.fft.rfft(window, n), n)
    return full[width - 1 : len(padded)]


def envelope(length: int, attack: float, release: float, decay: float | None = None) -> np.ndarray:
    """A note's amplitude: raised-cosine attack, optional exponential decay, cosine release."""
    t = np.arange(length + at(release)) / SAMPLE_RATE
    env = np.ones_like(t)
    rise = t < attack
    env[rise] = 0.5 - 0.5 * np.cos(np.pi * t[rise] / attack)
    if decay:
        env *= np.exp(-t / decay)
    tail = np.arange(len(t)) >= length
    fall = np.linspace(0, 1, int(tail.sum()), endpoint=False)
    env[tail] *= 0.5 + 0.5 * np.cos(np.pi * fall)
    return env


def add(track: np.ndarray, start: int, samples: np.ndarray) -> None:
    end = min(len(track), start + len(samples))
    if end > start:
        track[start:end] += samples[: end - start]


def formant_gain(freq: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Magnitude of cascaded resonators (unity at 0 Hz) at `freq`: the vowel's three formants
    (`formants`, shape (3, n)) then the fixed upper ones."""
    gain = np.ones_like(freq)
    resonances = [*zip(formants, BANDWIDTHS, strict=True), *UPPER_FORMANTS]
    for centre, bandwidth in resonances:
        gain *= centre**2 / np.sqrt((centre**2 - freq**2) ** 2 + (bandwidth * freq) ** 2)
    return gain


def render_voice(length: int, rng: np.random.Generator) -> np.ndarray:
    pitch = np.full(length, float(MELODY[0][2]))
    vowel = np.zeros((3, length))
    vowel[:] = np.array(VOWELS[MELODY[0][3]], float)[:, None]
    gate = np.zeros(length)
    scoop = np.zeros(length)
    vibrato_depth = np.zeros(length)
    for first, beats, note, name in MELODY:
        start, size = at(first * BEAT), at(beats * BEAT * 0.92)
        pitch[start:] = note
        vowel[:, start:] = np.array(VOWELS[name], float)[:, None]
        env = envelope(size, attack=0.045, release=0.09)
        add(gate, start, env)
        t = np.arange(len(env)) / SAMPLE_RATE
        add(scoop, start, -0.45 * np.exp(-t / 0.06))  # singers slide up into a note
        add(vibrato_depth, start, np.clip((t - 0.22) / 0.35, 0, 1) * env)
    t = np.arange(length) / SAMPLE_RATE
    drift = smooth(rng.standard_normal(length), 0.25)
    drift *= 0.08 / max(1e-9, np.abs(drift).max())
    rate = 5.4 + 0.3 * np.sin(2 * np.pi * 0.23 * t)
    vibrato_phase = 2 * np.pi * np.cumsum(rate) / SAMPLE_RATE
    vibrato = 0.32 * np.clip(vibrato_depth, 0, 1) * np.sin(vibrato_phase)
    f0 = 440.0 * 2 ** ((smooth(pitch, 0.07) + scoop + vibrato + drift - 69) / 12)
    formants = np.stack([smooth(row, 0.08) for row in vowel])
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    gate = np.clip(gate, 0, 1)
    voiced = np.flatnonzero(gate > 1e-4)
    phase_v = phase[voiced]
    # Harmonic weights change slowly: compute them every CONTROL samples and interpolate.
    control = voiced[::CONTROL]
    f0c, formants_c = f0[control], formants[:, control]
    voice = np.zeros(len(voiced))
    for k in range(1, int(7500 // f0c.min()) + 1):
        freq = k * f0c
        # 1/k: the glottal pulse's -12 dB/octave plus the lips' +6 dB/octave; fade out by 7.5 kHz.
        weight = formant_gain(freq, formants_c) / k * np.clip((7500 - freq) / 1500, 0, 1)
        voice += np.interp(voiced, control, weight) * np.sin(k * phase_v)
    out = np.zeros(length)
    out[voiced] = voice * gate[voiced]
    # A little breath, shaped by the same gate: air through the glottis between the harmonics.
    breath = np.diff(rng.standard_normal(length + 1)) * gate
    return out / np.abs(out).max() + 0.015 * breath


def render_piano(length: int) -> np.ndarray:
    """A two-operator FM electric piano: a bright bell-like attack that mellows as it rings."""
    out = np.zeros((length, 2))
    for bar, chord in enumerate(CHORDS):
        for beat, velocity in PIANO_HITS:
            start = at((bar * BAR_BEATS + beat) * BEAT)
            hits_after = [b for b, _ in PIANO_HITS if b > beat]
            size = at(((hits_after[0] if hits_after else BAR_BEATS) - beat) * BEAT)
            env = envelope(size, attack=0.004, release=0.12, decay=1.1)
            t = np.arange(len(env)) / SAMPLE_RATE
            for index, note in enumerate(chord):
                freq = midi_hz(note)
                index_fm = 1.4 * np.exp(-t / 0.22) + 0.25
                tone = np.sin(2 * np.pi * freq * t + index_fm * np.sin(2 * np.pi * freq * t))
                tone += 0.18 * np.sin(2 * np.pi * 2 * freq * t) * np.exp(-t / 0.3)
                pan = 0.35 * (index / (len(chord) - 1) - 0.5)  # spread low to high, left to right
                note_out = velocity * env * tone
                add(out[:, 0], start, note_out * (0.5 - pan))
                add(out[:, 1], start, note_out * (0.5 + pan))
    return out


def render_pad(length: int) -> np.ndarray:
    """Soft detuned strings, a little wider than the piano, swelling in on each chord."""
    out = np.zeros((length, 2))
    for bar, chord in enumerate(CHORDS):
        start, size = at(bar * BAR_BEATS * BEAT), at(BAR_BEATS * BEAT)
        env = envelope(size, attack=0.6, release=0.5)
        t = np.arange(len(env)) / SAMPLE_RATE
        for channel, detune in ((0, -0.07), (1, 0.07)):
            tone = np.zeros_like(t)
            for note in chord:
                freq = midi_hz(note - 12 + detune)
                for k in range(1, 9):
                    tone += np.sin(2 * np.pi * k * freq * t + k * note) / k**1.6
            add(out[:, channel], start, env * tone)
    return out


def render_bass(length: int) -> np.ndarray:
    out = np.zeros(length)
    for bar, root in enumerate(BASS_ROOTS):
        for beat, beats, interval, velocity in BASS_RHYTHM:
            start = at((bar * BAR_BEATS + beat) * BEAT)
            env = envelope(at(beats * BEAT), attack=0.006, release=0.05, decay=0.7)
            t = np.arange(len(env)) / SAMPLE_RATE
            freq = midi_hz(root + interval)
            tone = sum(
                amp * np.sin(2 * np.pi * k * freq * t) for k, amp in ((1, 1.0), (2, 0.4), (3, 0.15))
            )
            add(out, start, velocity * np.tanh(1.5 * env * tone) / np.tanh(1.5))
    return out


def render_drums(length: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((length, 2))
    kick_t = np.arange(at(0.45)) / SAMPLE_RATE
    kick_freq = 48 + 95 * np.exp(-kick_t / 0.035)
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / SAMPLE_RATE) * np.exp(-kick_t / 0.22)
    kick[: at(0.002)] += rng.standard_normal(at(0.002)) * 0.3  # the beater's click
    snare_t = np.arange(at(0.3)) / SAMPLE_RATE
    snare_noise = np.diff(rng.standard_normal(len(snare_t) + 1))
    snare = 0.55 * np.exp(-snare_t / 0.11) * snare_noise
    body = np.sin(2 * np.pi * 185 * snare_t) + 0.5 * np.sin(2 * np.pi * 330 * snare_t)
    snare += 0.5 * np.exp(-snare_t / 0.06) * body
    steps = BARS * BAR_BEATS * 4
    for step in range(steps):
        start = at(step * STEP)
        in_bar = step % 16
        if in_bar in KICK_STEPS:
            add(out[:, 0], start, kick)
            add(out[:, 1], start, kick)
        fill = step >= steps - 3  # a little snare run into the loop's restart
        if in_bar in SNARE_STEPS or fill:
            velocity = 1.0 if not fill else 0.45 + 0.25 * (step - steps + 3)
            add(out[:, 0], start, velocity * snare)
            add(out[:, 1], start, velocity * snare * 0.9)
        if in_bar % 2 == 0 or in_bar == 15:
            hat_t = np.arange(at(0.09)) / SAMPLE_RATE
            hiss = np.diff(rng.standard_normal(len(hat_t) + 2), n=2)
            velocity = (0.9 if in_bar % 4 == 0 else 0.55) if in_bar != 15 else 0.35
            hat = velocity * 0.2 * hiss * np.exp(-hat_t / 0.03)
            add(out[:, 0], start, hat * 0.7)  # hats sit a little right of centre
            add(out[:, 1], start, hat)
    return out


def reverb(dry: np.ndarray, rng: np.random.Generator, seconds: float = 1.3) -> np.ndarray:
    """A stereo room: convolution with decaying noise (a different tail per ear), 20 ms late."""
    size = at(seconds)
    t = np.arange(size) / SAMPLE_RATE
    impulse = np.zeros((size + at(0.02), 2))
    for channel in range(2):
        tail = smooth(rng.standard_normal(size), 0.0002) * np.exp(-t / (seconds / 4.5))
        impulse[at(0.02) :, channel] = tail / np.sqrt((tail**2).sum())
    n = fft_size(len(dry) + len(impulse))
    spectrum = np.fft.rfft(dry, n, axis=0) * np.fft.rfft(impulse, n, axis=0)
    return np.fft.irfft(spectrum, n, axis=0)[: len(dry)]


def fold(track: np.ndarray, length: int) -> np.ndarray:
    """Wrap what rings past the end onto the start, so that the song loops seamlessly."""
    out = track[:length].copy()
    out[: len(track) - length] += track[length:]
    return out


def synthesise(seconds: float = LENGTH_SECONDS, seed: int = SEED) -> Song:
    """The demo song's first `seconds` (at most LENGTH_SECONDS), the same for the same seed."""
    if not 0 < seconds <= LENGTH_SECONDS:
        raise ValueError(f"seconds must be in (0, {LENGTH_SECONDS:g}]")
    rng = np.random.default_rng(seed)
    length = at(LENGTH_SECONDS)
    total = length + at(TAIL_SECONDS)
    voice = render_voice(total, rng)
    vocals = np.stack([voice, voice], axis=1) * 0.9
    vocals += 0.2 * reverb(vocals, rng)
    piano = render_piano(total)
    pad = render_pad(total)
    bass = render_bass(total)
    drums = render_drums(total, rng)
    keys = piano / np.abs(piano).max() * 0.33 + pad / np.abs(pad).max() * 0.08
    accompaniment = keys + 0.45 * bass[:, None] + 0.5 * drums
    accompaniment += 0.22 * reverb(keys + 0.1 * drums, rng)
    vocals, accompaniment = fold(vocals, length), fold(accompaniment, length)
    # Balance as a pop mix does (the voice on top), then leave 1 dB of headroom.
    vocals *= 1.1 * _rms(accompaniment) / _rms(vocals)
    scale = 0.89 / np.abs(vocals + accompaniment).max()
    frames = at(seconds)
    fade = np.ones(frames)
    if frames < length:  # a cut short song ends with a short fade, not a click
        ramp = min(frames, at(0.08))
        fade[frames - ramp :] = np.linspace(1, 0, ramp)
    return Song(
        vocals=(vocals[:frames] * scale * fade[:, None]).astype(np.float32),
        accompaniment=(accompaniment[:frames] * scale * fade[:, None]).astype(np.float32),
    )


def _rms(samples: np.ndarray) -> float:
    return float(math.sqrt(np.mean(np.square(samples))))
