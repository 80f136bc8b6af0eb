"""Build the landing page's before/after demo into DEMO_ROOT.

    python manage.py build_demo [--force] [--seconds N]

Synthesises the demo song (separation.demo), separates it with the engine and model that jobs
use, and writes mixture.mp3, vocals.mp3, accompaniment.mp3 and peaks.json. A demo already built
with the same length and song version is left alone, so `make run` can ask for it every time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from separation import audio, catalog, demo
from separation.analysis import Peaks

# The 2stems checkpoint, keeping the spectrum up to 16 kHz (the "high quality" choice of jobs):
# the hats and the breath of the voice stay in the stems.
MODEL = "spleeter:2stems-16kHz"
BITRATE = 192  # kbps: the three files stay under 1 MB together
PEAK_POINTS = 400
BLOCK_FRAMES = audio.SAMPLE_RATE * 5


class Command(BaseCommand):
    help = "Build the landing page's demo: a synthesised song and its stems, in DEMO_ROOT."
    # It touches neither the database nor the URLs: skipping the checks keeps a no-op run short.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Rebuild even if it is there.")
        parser.add_argument(
            "--seconds",
            type=float,
            default=demo.LENGTH_SECONDS,
            help=f"Length of the demo (1 to {demo.LENGTH_SECONDS:g} s; shorter builds faster).",
        )

    def handle(self, *args, force: bool, seconds: float, **options):
        if not 1 <= seconds <= demo.LENGTH_SECONDS:
            raise CommandError(f"--seconds must be from 1 to {demo.LENGTH_SECONDS:g}.")
        root = Path(settings.DEMO_ROOT)
        current = demo.manifest(root)
        if not force and current and self.matches(current, seconds):
            self.stdout.write(f"The demo is already built in {root} (--force rebuilds it).")
            return
        spec = catalog.ALL_MODELS[MODEL]
        problem = catalog.checkpoint_problem(catalog.checkpoint_dir(spec.checkpoint))
        if problem:
            raise CommandError(
                f"The demo needs the {spec.checkpoint} model, which is not installed ({problem}). "
                f"Run `python manage.py install_models {spec.checkpoint}` (or `make models`) first."
            )
        started = time.monotonic()
        self.stdout.write(f"Synthesising a {seconds:g} s song and separating it with {MODEL}…")
        song = demo.synthesise(seconds)
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=root) as tmp:
            staging = Path(tmp)
            peaks = self.render(song, staging)
            manifest = {
                "version": demo.VERSION,
                "duration": round(song.seconds, 3),
                "model": MODEL,
                "peaks": peaks,
            }
            (staging / demo.MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")))
            # Without its manifest the demo counts as absent: the page shows the fallback while
            # the files are swapped, never an old track beside a new one.
            (root / demo.MANIFEST).unlink(missing_ok=True)
            for name in sorted(demo.FILES, key=lambda name: name == demo.MANIFEST):
                os.replace(staging / name, root / name)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Demo built in {root} in {elapsed:.0f} s."))

    @staticmethod
    def matches(manifest: dict, seconds: float) -> bool:
        frames = round(seconds * audio.SAMPLE_RATE)
        return (
            manifest.get("version") == demo.VERSION
            and manifest.get("model") == MODEL
            and abs(manifest.get("duration", 0) - frames / audio.SAMPLE_RATE) < 0.01
        )

    @staticmethod
    def render(song: demo.Song, folder: Path) -> dict[str, list[float]]:
        """Encode the mixture and the engine's stems as mp3 into `folder`; returns their peaks."""
        from separation.engines.spleeter import get_engine

        engine = get_engine(MODEL)
        frames = len(song.vocals)
        names = [name for name, _label in demo.TRACKS]
        encoders = {
            name: audio.Encoder(str(folder / f"{name}.mp3"), "mp3", bitrate=BITRATE)
            for name in names
        }
        peaks = {name: Peaks(frames, PEAK_POINTS) for name in names}
        mixture = song.mixture

        def blocks():
            for start in range(0, frames, BLOCK_FRAMES):
                block = mixture[start : start + BLOCK_FRAMES]
                encoders["mixture"].write(block)
                peaks["mixture"].add(block)
                yield block

        try:
            for separated in engine.separate_stream(blocks()):
                for stem, samples in separated.items():
                    encoders[stem].write(samples)
                    peaks[stem].add(samples)
        except BaseException:
            for encoder in encoders.values():
                encoder.abort()
            raise
        for encoder in encoders.values():
            encoder.close()
        return {name: values.result() for name, values in peaks.items()}
