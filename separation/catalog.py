"""Which separation models exist, which are installed, and what stems each one gives.

A model is named as Spleeter names it: `spleeter:2stems`, `spleeter:4stems`, `spleeter:5stems`,
and the high-quality variants `spleeter:2stems-16kHz` (…) that use the same checkpoints but
keep the spectrum up to 16 kHz instead of cutting it at 11 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

STEMS = {
    "2stems": ("vocals", "accompaniment"),
    "4stems": ("vocals", "drums", "bass", "other"),
    "5stems": ("vocals", "drums", "bass", "piano", "other"),
}
CHECKPOINT_FILES = ("checkpoint", "model.index", "model.meta")


@dataclass(frozen=True)
class ModelSpec:
    name: str  # spleeter:4stems-16kHz
    checkpoint: str  # 4stems
    high_quality: bool

    @property
    def stems(self) -> tuple[str, ...]:
        return STEMS[self.checkpoint]

    @property
    def config_name(self) -> str:
        return self.checkpoint + ("-16kHz" if self.high_quality else "")

    @property
    def max_frequency(self) -> int:
        return 16000 if self.high_quality else 11000


ALL_MODELS = {
    spec.name: spec
    for checkpoint in STEMS
    for spec in (
        ModelSpec(f"spleeter:{checkpoint}", checkpoint, False),
        ModelSpec(f"spleeter:{checkpoint}-16kHz", checkpoint, True),
    )
}


def checkpoint_dir(checkpoint: str) -> Path:
    return Path(settings.MODEL_PATH) / checkpoint


def checkpoint_problem(directory: Path) -> str | None:
    """Why `directory` does not hold a usable checkpoint, or None if it does.

    An empty or partial folder would make Spleeter run with random weights: never accept one.
    """
    if not directory.is_dir():
        return f"{directory} does not exist"
    missing = [name for name in CHECKPOINT_FILES if not (directory / name).is_file()]
    if missing:
        return f"{directory} lacks {', '.join(missing)}"
    data = list(directory.glob("model.data-*"))
    if not data or any(path.stat().st_size < 1024 * 1024 for path in data):
        return f"{directory} has no model weights (model.data-*)"
    return None


def is_installed(checkpoint: str) -> bool:
    return checkpoint_problem(checkpoint_dir(checkpoint)) is None


def installed_models() -> list[ModelSpec]:
    return [spec for spec in ALL_MODELS.values() if is_installed(spec.checkpoint)]


def get_model(name: str) -> ModelSpec | None:
    return ALL_MODELS.get(name)
