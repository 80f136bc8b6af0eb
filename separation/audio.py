"""Audio in and out through ffmpeg (the static build of the imageio-ffmpeg wheel).

Uploaded files are untrusted. ffmpeg runs without a shell, on local files only
(`-protocol_whitelist file,pipe`), probing only audio demuxers (`-format_whitelist`), then
decoding with the demuxer forced to what the probe recognised, under a time limit. Playlists
(HLS, concat, …) are not on the whitelist, so a disguised one is refused, never followed.

Decoding and encoding stream through pipes: no whole input or stem is ever held in memory.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings

SAMPLE_RATE = 44100  # what Spleeter's models work at
FORMATS = ("wav", "flac", "mp3", "m4a")
LOSSLESS = ("wav", "flac")
CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "zip": "application/zip",
}
# Demuxers an upload may be recognised as. Anything else (playlists, images, text) is refused.
AUDIO_DEMUXERS = (
    "wav",
    "w64",
    "mp3",
    "flac",
    "ogg",
    "mov",
    "mp4",
    "m4a",
    "matroska",
    "webm",
    "aiff",
    "aac",
    "caf",
    "wv",
    "ape",
    "asf",
    "au",
    "amr",
    "ac3",
    "eac3",
    "dts",
    "tta",
    "mpc",
    "mpc8",
    "oga",
)
SAFE_INPUT = ["-protocol_whitelist", "file,pipe"]
_BYTES_PER_FRAME = 4  # float32


class AudioError(Exception):
    """The file is not audio we can read, or ffmpeg failed; the message is safe to show."""


@dataclass(frozen=True)
class AudioInfo:
    container: str  # the demuxer to force when decoding
    codec: str
    sample_rate: int
    channels: int
    duration_ms: int


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    override = os.environ.get("FFMPEG_BINARY")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            capture_output=True,
            timeout=timeout or settings.FFMPEG_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AudioError("Processing the audio took too long.") from None


_INPUT_RE = re.compile(r"^Input #0, (.+?), from ", re.M)
_DURATION_RE = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO_RE = re.compile(
    r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: ([^\s,]+)[^\n]*?, (\d+) Hz, ([^,\n]+)"
)
_TIME_RE = re.compile(r"time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_LAYOUT_CHANNELS = {
    "mono": 1,
    "stereo": 2,
    "2.1": 3,
    "3.0": 3,
    "quad": 4,
    "4.0": 4,
    "5.0": 5,
    "5.1": 6,
    "6.1": 7,
    "7.1": 8,
}


def _channels(layout: str) -> int:
    layout = layout.strip()
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    return _LAYOUT_CHANNELS.get(layout.split("(")[0], 2)


def _seconds(match: re.Match) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def probe(path: str) -> AudioInfo:
    """What the file at `path` is, judged by its content (not its name). Raises AudioError."""
    result = _run(
        [*SAFE_INPUT, "-format_whitelist", ",".join(AUDIO_DEMUXERS), "-i", path], timeout=60
    )
    text = result.stderr.decode("utf-8", "replace")
    container = _INPUT_RE.search(text)
    stream = _AUDIO_RE.search(text)
    if not container or not stream:
        raise AudioError("This is not an audio file we can read (or it is corrupt).")
    demuxer = container.group(1).split(",")[0]
    duration_match = _DURATION_RE.search(text)
    duration = _seconds(duration_match) if duration_match else 0.0
    info = AudioInfo(
        container=demuxer,
        codec=stream.group(1),
        sample_rate=int(stream.group(2)),
        channels=_channels(stream.group(3)),
        duration_ms=round(duration * 1000),
    )
    if info.duration_ms <= 0 or not duration_match:
        # No duration in the header (raw streams): decode once and count.
        info = AudioInfo(
            **{**info.__dict__, "duration_ms": round(measure_duration(path, info) * 1000)}
        )
    if info.duration_ms <= 0:
        raise AudioError("The file holds no audio samples.")
    # Decode a little to be sure the audio stream is readable, not only its header.
    check = _run(
        [
            *SAFE_INPUT,
            "-f",
            demuxer,
            "-i",
            path,
            "-map",
            "0:a:0",
            "-t",
            "2",
            "-f",
            "null",
            "-",
            "-v",
            "error",
            "-xerror",
        ],
        timeout=60,
    )
    if check.returncode != 0:
        raise AudioError("The audio stream is corrupt and cannot be decoded.")
    return info


def measure_duration(path: str, info: AudioInfo) -> float:
    result = _run(
        [*SAFE_INPUT, "-f", info.container, "-i", path, "-map", "0:a:0", "-f", "null", "-"]
    )
    times = _TIME_RE.findall(result.stderr.decode("utf-8", "replace"))
    if not times:
        return 0.0
    hours, minutes, seconds = times[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def to_stereo(samples: np.ndarray) -> np.ndarray:
    """As Spleeter does: duplicate mono, keep the first two of more channels."""
    if samples.shape[1] == 1:
        return np.repeat(samples, 2, axis=1)
    if samples.shape[1] > 2:
        return np.ascontiguousarray(samples[:, :2])
    return samples


def decode(
    path: str,
    info: AudioInfo,
    *,
    start: float = 0.0,
    duration: float | None = None,
    block_frames: int = SAMPLE_RATE * 10,
) -> Iterator[np.ndarray]:
    """Yield the audio as float32 stereo blocks of at most `block_frames` frames at 44.1 kHz.

    Decoding is what `spleeter separate` does (same resampler, same channel handling), so the
    samples are the same as the ones it separates.
    """
    args = [*SAFE_INPUT]
    if start:
        args += ["-ss", f"{start:.6f}"]
    if duration is not None:
        args += ["-t", f"{duration:.6f}"]
    args += [
        "-f",
        info.container,
        "-i",
        path,
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ar",
        str(SAMPLE_RATE),
        "-v",
        "error",
        "pipe:1",
    ]
    channels = info.channels
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
        )
        stdout = process.stdout
        assert stdout is not None  # stdout=PIPE
        try:
            frame_bytes = _BYTES_PER_FRAME * channels
            leftover = b""
            while True:
                data = stdout.read(block_frames * frame_bytes)
                if not data:
                    break
                data = leftover + data
                usable = len(data) - len(data) % frame_bytes
                leftover = data[usable:]
                if usable:
                    block = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
                    yield to_stereo(block)
            if process.wait(timeout=settings.FFMPEG_TIMEOUT_SECONDS) != 0:
                errors.seek(0)
                detail = errors.read().decode("utf-8", "replace").strip().splitlines()
                raise AudioError("Decoding failed: " + (detail[-1] if detail else "ffmpeg error"))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            stdout.close()


def encode_args(
    fmt: str, *, bitrate: float | None = None, bit_depth: float | None = None
) -> list[str]:
    """ffmpeg output options for `fmt`. Raises AudioError naming a bad option."""
    if fmt not in FORMATS:
        raise AudioError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if bitrate is not None and fmt in LOSSLESS:
        raise AudioError(f"bitrate applies to mp3 and m4a, not {fmt}.")
    if bit_depth is not None and fmt not in LOSSLESS:
        raise AudioError(f"bit_depth applies to wav and flac, not {fmt}.")
    if fmt in ("mp3", "m4a"):
        kbps = int(bitrate) if bitrate is not None else (320 if fmt == "mp3" else 256)
        if bitrate is not None and (bitrate != kbps or not 96 <= kbps <= 320):
            raise AudioError("bitrate must be a whole number of kbps from 96 to 320.")
        if fmt == "mp3":
            return ["-c:a", "libmp3lame", "-b:a", f"{kbps}k"]
        return ["-c:a", "aac", "-b:a", f"{kbps}k", "-f", "ipod"]
    depth = int(bit_depth) if bit_depth is not None else 16
    if bit_depth is not None and (bit_depth != depth or depth not in (16, 24)):
        raise AudioError("bit_depth must be 16 or 24.")
    if fmt == "wav":
        return ["-c:a", "pcm_s16le" if depth == 16 else "pcm_s24le", "-f", "wav"]
    return [
        "-c:a",
        "flac",
        "-sample_fmt",
        "s16" if depth == 16 else "s32",
        *([] if depth == 16 else ["-bits_per_raw_sample", "24"]),
        "-f",
        "flac",
    ]


class Encoder:
    """Feed float32 stereo 44.1 kHz blocks; ffmpeg writes `path` in `fmt` at `sample_rate`."""

    def __init__(
        self,
        path: str,
        fmt: str,
        *,
        sample_rate: int = SAMPLE_RATE,
        bitrate: int | None = None,
        bit_depth: int | None = None,
    ):
        self.path = path
        self._errors = tempfile.TemporaryFile()
        args = [
            "-f",
            "f32le",
            "-ar",
            str(SAMPLE_RATE),
            "-ac",
            "2",
            "-i",
            "pipe:0",
            "-ar",
            str(sample_rate),
            *encode_args(fmt, bitrate=bitrate, bit_depth=bit_depth),
            "-v",
            "error",
            "-y",
            path,
        ]
        self._process = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        assert self._process.stdin is not None  # stdin=PIPE
        self._stdin = self._process.stdin

    def write(self, block: np.ndarray) -> None:
        self._stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())

    def close(self) -> None:
        self._stdin.close()
        code = self._process.wait(timeout=settings.FFMPEG_TIMEOUT_SECONDS)
        self._errors.seek(0)
        detail = self._errors.read().decode("utf-8", "replace").strip()
        self._errors.close()
        if code != 0:
            raise AudioError(f"Encoding {os.path.basename(self.path)} failed: {detail[-300:]}")

    def abort(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._errors.close()


def convert(
    src: str,
    dst: str,
    fmt: str,
    *,
    sample_rate: int,
    bitrate: int | None = None,
    bit_depth: int | None = None,
) -> None:
    """Re-encode one of our own stored files (trusted) into another format."""
    result = _run(
        [
            *SAFE_INPUT,
            "-i",
            src,
            "-map",
            "0:a:0",
            "-ar",
            str(sample_rate),
            *encode_args(fmt, bitrate=bitrate, bit_depth=bit_depth),
            "-v",
            "error",
            "-y",
            dst,
        ]
    )
    if result.returncode != 0:
        raise AudioError("Conversion failed: " + result.stderr.decode("utf-8", "replace")[-300:])
