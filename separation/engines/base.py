"""The interface every separation backend implements. Views and tasks never import TensorFlow."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np

# Called after each chunk with (seconds of input separated so far, chunk number); return False
# to stop (the job was cancelled).
ChunkCallback = Callable[[float, int], bool]


class Cancelled(Exception):
    """The chunk callback asked to stop."""


class Engine(Protocol):
    name: str
    stems: tuple[str, ...]
    sample_rate: int

    def separate_stream(
        self, blocks: Iterable[np.ndarray], on_chunk: ChunkCallback | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """Separate float32 stereo blocks (any sizes) into per-stem blocks, in order.

        The concatenated output of each stem has exactly as many frames as the input.
        Memory stays bounded by the chunk size, whatever the input's length.
        """
        ...
