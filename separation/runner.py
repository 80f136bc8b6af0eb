"""Run one separation job in this (worker) process: decode, separate, encode, store.

The caller is the Celery task; this module never runs in a web process. State changes go
through separation.services. Safe to call twice with the same id: the second call finds the job
no longer queued and returns without touching it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid

from django.conf import settings
from django.db import connection

from separation import audio, services
from separation.analysis import MusicAnalyzer, Peaks
from separation.engines.base import Cancelled
from separation.models import Job
from separation.options import JobOptions

log = logging.getLogger(__name__)


def warm_up(models: list[str]) -> None:
    """What a worker does once after its fork: build the models' graphs and compile the
    analysis code, so that the first job runs as fast as the next ones."""
    import numpy as np

    from separation import catalog
    from separation.engines.spleeter import get_engine

    for name in models:
        spec = catalog.get_model(name)
        if spec and catalog.is_installed(spec.checkpoint):
            get_engine(name)
    analyzer = MusicAnalyzer()
    analyzer.add(np.zeros((audio.SAMPLE_RATE, 2), np.float32))
    analyzer.result()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def local_copy(field_file, directory: str):
    """A local path for a stored file: the file itself on disk storage, else a download."""
    try:
        yield field_file.path
        return
    except NotImplementedError:
        pass
    path = os.path.join(directory, "input" + os.path.splitext(field_file.name)[1])
    with field_file.open("rb") as stored, open(path, "wb") as local:
        shutil.copyfileobj(stored, local, 1024 * 1024)
    yield path


class Heartbeat(threading.Thread):
    """Tells the database every few seconds that this worker still runs the job."""

    def __init__(self, job: Job):
        super().__init__(daemon=True, name=f"heartbeat-{job.id}")
        self.job_id, self.worker = job.id, job.worker
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    services.heartbeat(self.job_id, self.worker)
                except Exception:  # a locked database must not kill the heartbeat
                    log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_job(job_id: str, worker: str | None = None) -> str:
    """Process a queued job to its end. Returns the job's final status (or 'skipped')."""
    job = services.claim_job(job_id, worker or worker_name())
    if job is None:
        log.info("job %s: not queued any more, skipping", job_id)
        return "skipped"
    heartbeat = Heartbeat(job)
    heartbeat.start()
    try:
        analysis = separate_job(job)
    except Cancelled:
        log.info("job %s: cancelled while running", job.id)
        return "cancelled"
    except audio.AudioError as exc:
        services.fail_job(job, str(exc))
        return "failed"
    except Exception as exc:
        log.exception("job %s failed", job.id)
        services.fail_job(job, f"Internal error while separating: {type(exc).__name__}: {exc}")
        return "failed"
    finally:
        heartbeat.stop()
    return "completed" if services.complete_job(job, analysis) else "cancelled"


def check_complete(frames: int, expected_seconds: float) -> None:
    """Refuse a file whose audio stops well before its header says (truncated or corrupt)."""
    seconds = frames / audio.SAMPLE_RATE
    if frames == 0 or seconds < expected_seconds - max(1.0, 0.05 * expected_seconds):
        raise audio.AudioError(
            f"The audio stops after {seconds:.1f} s of the {expected_seconds:.1f} s its header "
            "announces: the file is truncated or corrupt."
        )


def separate_job(job: Job) -> dict:
    from separation.engines.spleeter import get_engine, loaded_models

    options = JobOptions.from_json(job.options)
    upload = job.upload
    info = audio.AudioInfo(
        container=upload.container,
        codec=upload.codec,
        sample_rate=upload.sample_rate,
        channels=upload.channels,
        duration_ms=upload.duration_ms,
    )
    total_seconds = max(
        0.001, min(upload.duration - options.section_start, options.section_duration or math.inf)
    )
    expected_frames = round(total_seconds * audio.SAMPLE_RATE)
    if options.model not in loaded_models():
        services.add_event(job, f"loading model {options.model}")
    engine = get_engine(options.model)
    chunk_seconds = engine.stride / audio.SAMPLE_RATE
    chunks = max(1, math.ceil((total_seconds + 0.1) / chunk_seconds))
    groups = options.wanted_groups()
    analyzer = MusicAnalyzer()
    peaks = {name: Peaks(expected_frames) for name in groups}
    started = time.monotonic()

    def on_chunk(seconds_done: float, index: int) -> bool:
        if not services.still_running(job):
            return False
        services.record_progress(
            job,
            5 + 85 * min(1.0, seconds_done / total_seconds),
            f"separating {min(index, chunks)}/{chunks}",
        )
        return True

    with tempfile.TemporaryDirectory(prefix=f"stemsaas-{job.id}-") as tmp:
        with local_copy(upload.file, tmp) as source:
            services.record_progress(job, 2, "decoding")
            encoders = {
                name: audio.Encoder(
                    os.path.join(tmp, f"{name}.{options.format}"),
                    options.format,
                    sample_rate=upload.sample_rate,
                    bitrate=options.bitrate,
                    bit_depth=options.bit_depth,
                )
                for name in groups
            }
            try:
                decoded = 0

                def mixture():
                    nonlocal decoded
                    for block in audio.decode(
                        source, info, start=options.section_start, duration=options.section_duration
                    ):
                        decoded += len(block)
                        analyzer.add(block)
                        yield block

                for block in engine.separate_stream(mixture(), on_chunk=on_chunk):
                    for name, parts in groups.items():
                        samples = block[parts[0]]
                        for extra in parts[1:]:
                            samples = samples + block[extra]
                        encoders[name].write(samples)
                        peaks[name].add(samples)
                check_complete(decoded, total_seconds)
            except BaseException:
                for encoder in encoders.values():
                    encoder.abort()
                raise
            for name, encoder in encoders.items():
                services.record_progress(job, job.progress, f"encoding {name}")
                encoder.close()
            if not services.still_running(job):
                raise Cancelled()
            for index, name in enumerate(groups):
                services.save_output(job, name, options.format, encoders[name].path)
                services.record_progress(job, 92 + 7 * (index + 1) // len(groups))
    elapsed = time.monotonic() - started
    result = analyzer.result()
    result["peaks"] = {name: values.result() for name, values in peaks.items()}
    result["seconds"] = round(elapsed, 2)
    result["speed"] = round(total_seconds / elapsed, 2) if elapsed else None
    log.info("job %s: %.1f s of audio in %.1f s", job.id, total_seconds, elapsed)
    return result
