"""Per-job metadata computed while the audio streams past: tempo, key and waveform peaks.

Everything here works block by block and keeps only small summaries, so a 60-minute file costs
no more memory than a 3-minute one. Tempo and key come from librosa.
"""

from __future__ import annotations

import math

import numpy as np

PEAKS_PER_STEM = 800
ANALYSIS_RATE = 22050
_HOP = 512
_KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# Krumhansl-Kessler key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class Peaks:
    """Max-abs envelope of a stream in about `points` buckets (for a waveform display)."""

    def __init__(self, expected_frames: int, points: int = PEAKS_PER_STEM):
        self.bucket = max(1, math.ceil(expected_frames / points))
        self.values: list[float] = []
        self._partial = 0.0
        self._filled = 0

    def add(self, block: np.ndarray) -> None:
        envelope = np.abs(block).max(axis=1) if block.ndim == 2 else np.abs(block)
        position = 0
        if self._filled:
            take = min(self.bucket - self._filled, len(envelope))
            self._partial = max(self._partial, float(envelope[:take].max(initial=0.0)))
            self._filled += take
            position = take
            if self._filled == self.bucket:
                self.values.append(self._partial)
                self._partial, self._filled = 0.0, 0
        rest = envelope[position:]
        whole = len(rest) // self.bucket
        if whole:
            self.values.extend(
                rest[: whole * self.bucket].reshape(whole, self.bucket).max(axis=1).tolist()
            )
        leftover = rest[whole * self.bucket :]
        if len(leftover):
            self._partial = max(self._partial, float(leftover.max()))
            self._filled += len(leftover)

    def result(self) -> list[float]:
        values = self.values + ([self._partial] if self._filled else [])
        return [round(min(1.0, value), 4) for value in values]


_TEMPO_SEGMENT = 2 * 60 * ANALYSIS_RATE // _HOP  # onset frames (2 minutes) per tempogram


class MusicAnalyzer:
    """Tempo (BPM) and key of the mixture, from onset strength and chroma gathered per block.

    The tempogram is averaged over two-minute segments as they fill up, so a long file never
    needs one tempogram of its whole length (hundreds of MB for an hour).
    """

    def __init__(self):
        self._onsets: list[np.ndarray] = []
        self._pending = 0
        self._tempogram_sum: np.ndarray | None = None
        self._tempogram_frames = 0
        self._chroma = np.zeros(12)

    def _fold_tempogram(self) -> None:
        import librosa

        envelope = np.concatenate(self._onsets)
        self._onsets, self._pending = [], 0
        if len(envelope) < 16:
            return
        tempogram = librosa.feature.tempogram(
            onset_envelope=envelope, sr=ANALYSIS_RATE, hop_length=_HOP
        )
        total = tempogram.sum(axis=1)
        self._tempogram_sum = total if self._tempogram_sum is None else self._tempogram_sum + total
        self._tempogram_frames += tempogram.shape[1]

    def add(self, block: np.ndarray) -> None:
        import librosa

        mono = block.mean(axis=1) if block.ndim == 2 else block
        # 44.1 kHz -> 22.05 kHz: average pairs (a cheap low-pass) then keep one of two.
        usable = len(mono) - len(mono) % 2
        if usable < 2 * _HOP:
            return
        low = mono[:usable].reshape(-1, 2).mean(axis=1).astype(np.float32)
        onsets = librosa.onset.onset_strength(y=low, sr=ANALYSIS_RATE, hop_length=_HOP)
        self._onsets.append(onsets)
        self._pending += len(onsets)
        if self._pending >= _TEMPO_SEGMENT:
            self._fold_tempogram()
        chroma = librosa.feature.chroma_stft(y=low, sr=ANALYSIS_RATE, hop_length=2048, n_fft=4096)
        self._chroma += chroma.sum(axis=1)

    def result(self) -> dict:
        import librosa

        if self._onsets:
            self._fold_tempogram()
        if self._tempogram_sum is None or not self._chroma.any():
            return {"tempo": None, "key": None}
        mean = (self._tempogram_sum / self._tempogram_frames)[:, np.newaxis]
        tempo = librosa.feature.tempo(tg=mean, sr=ANALYSIS_RATE, hop_length=_HOP)
        profile = self._chroma / self._chroma.sum()
        best = max(
            (
                (np.corrcoef(profile, np.roll(template, tonic))[0, 1], tonic, mode)
                for tonic in range(12)
                for mode, template in (("major", _MAJOR), ("minor", _MINOR))
            ),
            key=lambda item: item[0],
        )
        return {"tempo": round(float(tempo[0]), 1), "key": f"{_KEYS[best[1]]} {best[2]}"}
