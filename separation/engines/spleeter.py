"""Spleeter on TensorFlow: one graph and session per model per worker process, fed chunk by chunk.

Why this reproduces `spleeter separate` exactly, in bounded memory:
Spleeter pads the waveform with one frame of zeros, takes an STFT (4096/1024, Hann), cuts the
spectrogram into independent segments of T=512 frames for the U-Nets, turns their outputs into
ratio masks frame by frame, and overlap-adds the masked frames back (inverse STFT). Nothing
crosses a segment boundary but the STFT's overlap. So we feed TensorFlow chunks whose first
frame is a multiple of T on the same global frame grid, each with the 3072 samples of context
its last frame needs, and overlap-add the chunks' inverse STFTs: the seams are the Hann windows'
own crossfade, and the result is Spleeter's whole-file output to float rounding.

The graph is built on placeholders once (after the worker forked), the checkpoint restored once,
and every job reuses the session.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator

import numpy as np

from separation import catalog
from separation.engines.base import Cancelled, ChunkCallback

log = logging.getLogger(__name__)

FRAME_LENGTH = 4096
FRAME_STEP = 1024
SEGMENT_FRAMES = 512  # Spleeter's T
CONTEXT = FRAME_LENGTH - FRAME_STEP  # samples a chunk's last frame reaches past its stride
WINDOW_COMPENSATION = 2.0 / 3.0
SAMPLE_RATE = 44100

_engines: dict[str, SpleeterEngine] = {}
_lock = threading.Lock()


def get_engine(model: str) -> SpleeterEngine:
    """The engine for `model` in this process, built on first use and then reused."""
    with _lock:
        engine = _engines.get(model)
        if engine is None:
            spec = catalog.ALL_MODELS[model]
            engine = SpleeterEngine(spec)
            _engines[model] = engine
        return engine


def loaded_models() -> list[str]:
    return sorted(_engines)


def _threads() -> int:
    from django.conf import settings

    return settings.ENGINE_THREADS or os.cpu_count() or 1


class SpleeterEngine:
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        spec: catalog.ModelSpec,
        chunk_segments: int | None = None,
        model_dir: str | None = None,
    ):
        from django.conf import settings

        self.spec = spec
        self.name = spec.name
        self.stems = spec.stems
        seconds = settings.ENGINE_CHUNK_SECONDS
        per_segment = SEGMENT_FRAMES * FRAME_STEP / SAMPLE_RATE
        self.chunk_segments = chunk_segments or max(1, round(seconds / per_segment))
        self.chunk_frames = self.chunk_segments * SEGMENT_FRAMES
        self.stride = self.chunk_frames * FRAME_STEP  # samples a chunk advances by
        directory = model_dir or str(catalog.checkpoint_dir(spec.checkpoint))
        problem = catalog.checkpoint_problem(catalog.Path(directory))
        if problem:
            raise RuntimeError(f"Model {spec.name} is not installed: {problem}")
        self._build(directory)

    def _build(self, directory: str) -> None:
        import tensorflow as tf
        from spleeter.model import EstimatorSpecBuilder
        from spleeter.utils.configuration import load_configuration

        params = load_configuration(f"spleeter:{self.spec.config_name}")
        params["MWF"] = False
        window = lambda length, dtype: tf.signal.hann_window(length, periodic=True, dtype=dtype)  # noqa: E731
        self._graph = tf.Graph()
        with self._graph.as_default():
            self._input = tf.compat.v1.placeholder(tf.float32, shape=(None, 2), name="waveform")
            stft = tf.transpose(
                tf.signal.stft(
                    tf.transpose(self._input),
                    FRAME_LENGTH,
                    FRAME_STEP,
                    window_fn=window,
                    pad_end=False,
                ),
                perm=[1, 2, 0],
            )
            builder = EstimatorSpecBuilder({"waveform": self._input, "mix_stft": stft}, params)
            self._outputs = {}
            for stem, masked in builder.masked_stfts.items():
                waveform = tf.signal.inverse_stft(
                    tf.transpose(masked, perm=[2, 0, 1]),
                    FRAME_LENGTH,
                    FRAME_STEP,
                    window_fn=window,
                )
                self._outputs[stem] = tf.transpose(waveform) * WINDOW_COMPENSATION
            saver = tf.compat.v1.train.Saver()
            config = tf.compat.v1.ConfigProto(
                intra_op_parallelism_threads=_threads(),
                # The stems' U-Nets are independent branches: let them run side by side.
                inter_op_parallelism_threads=_threads(),
            )
            self._session = tf.compat.v1.Session(graph=self._graph, config=config)
            saver.restore(self._session, tf.train.latest_checkpoint(directory))
        self._graph.finalize()
        # The first run pays for graph optimisation and buffer allocation: pay it now, at load.
        self._run(np.zeros((self.stride + CONTEXT, 2), np.float32))
        log.info(
            "engine %s loaded from %s (%d segments per chunk)",
            self.name,
            directory,
            self.chunk_segments,
        )

    def _run(self, padded: np.ndarray) -> dict[str, np.ndarray]:
        result = self._session.run(self._outputs, feed_dict={self._input: padded})
        return {stem: result[stem] for stem in self.stems}

    def separate(self, waveform: np.ndarray) -> dict[str, np.ndarray]:
        """Whole-array convenience for tests and short clips."""
        parts: dict[str, list[np.ndarray]] = {stem: [] for stem in self.stems}
        for block in self.separate_stream([waveform]):
            for stem, samples in block.items():
                parts[stem].append(samples)
        return {
            stem: np.concatenate(chunks) if chunks else np.zeros((0, 2), np.float32)
            for stem, chunks in parts.items()
        }

    def separate_stream(
        self, blocks: Iterable[np.ndarray], on_chunk: ChunkCallback | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """See engines.base.Engine. Raises Cancelled when on_chunk returns False."""
        need = self.stride + CONTEXT
        # Spleeter prepends one frame of zeros; `pending` holds padded input not yet consumed.
        pending = [np.zeros((FRAME_LENGTH, 2), np.float32)]
        pending_len = FRAME_LENGTH
        tail = {stem: np.zeros((CONTEXT, 2), np.float32) for stem in self.stems}
        to_skip = FRAME_LENGTH  # output samples that belong to the zero padding
        remaining_out = 0  # input frames not yet emitted
        chunk_index = 0
        consumed = 0
        source = iter(blocks)
        exhausted = False
        while True:
            while not exhausted and pending_len < need:
                try:
                    block = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if len(block):
                    pending.append(np.asarray(block, dtype=np.float32))
                    pending_len += len(block)
                    remaining_out += len(block)
            buffer = np.concatenate(pending) if len(pending) > 1 else pending[0]
            if not exhausted:
                frames = self.chunk_frames
                window = buffer[:need]
            else:
                if remaining_out <= 0:
                    return
                # pad_end semantics: every frame that starts inside the data exists.
                frames = -(-len(buffer) // FRAME_STEP)
                length = (frames - 1) * FRAME_STEP + FRAME_LENGTH
                window = np.zeros((length, 2), np.float32)
                window[: len(buffer)] = buffer
            separated = self._run(window)
            advance = frames * FRAME_STEP if exhausted else self.stride
            out = {}
            for stem, samples in separated.items():
                samples[:CONTEXT] += tail[stem]
                out[stem] = samples[:advance]
                tail[stem] = samples[advance : advance + CONTEXT].copy()
            # Trim the leading padding and anything past the input's end.
            start = min(to_skip, advance)
            to_skip -= start
            emit = min(advance - start, remaining_out)
            remaining_out -= emit
            if emit > 0:
                yield {stem: samples[start : start + emit] for stem, samples in out.items()}
            chunk_index += 1
            consumed += emit
            if on_chunk is not None and not on_chunk(consumed / SAMPLE_RATE, chunk_index):
                raise Cancelled()
            if exhausted:
                if remaining_out <= 0:
                    return
                continue
            rest = buffer[self.stride :]
            pending = [rest]
            pending_len = len(rest)
