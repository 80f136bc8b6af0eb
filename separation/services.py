"""The verbs of the separation context: every state change of uploads and jobs goes through here.

Called by the API, the pages and the Celery tasks alike. Raise `SeparationError` for anything a
client did wrong; its `code` and `message` reach the client unchanged.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, User, Workspace
from separation import audio, catalog
from separation.models import FINAL_STATUSES, Job, JobEvent, JobStatus, Mix, Output, Upload
from separation.options import JobOptions, parse_job_request

log = logging.getLogger(__name__)


class SeparationError(Exception):
    def __init__(self, message: str, code: str = "invalid_request", status: int = 400, **extra):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.extra = extra


# --- Uploads ----------------------------------------------------------------------------------


def clean_filename(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    if not name or name in (".", ".."):
        raise SeparationError(
            "A filename is required: send multipart field 'file' or a "
            "'Content-Disposition: attachment; filename=...' header.",
            code="missing_filename",
        )
    return name[:200]


def create_upload(
    workspace: Workspace,
    local_path: str,
    filename: str,
    *,
    user: User | None = None,
    api_key: ApiKey | None = None,
) -> Upload:
    """Probe a file already streamed to `local_path` and store it for `workspace`.

    The caller owns `local_path` and removes it afterwards. Raises SeparationError (400) for an
    empty, corrupt or non-audio file; nothing is stored then.
    """
    filename = clean_filename(filename)
    size = os.path.getsize(local_path)
    if size == 0:
        raise SeparationError("The file is empty.", code="empty_file")
    if size > settings.UPLOAD_MAX_BYTES:
        raise SeparationError(
            f"The file is {size} bytes; the largest accepted is {settings.UPLOAD_MAX_BYTES} bytes.",
            code="file_too_large",
            status=413,
        )
    try:
        info = audio.probe(local_path)
    except audio.AudioError as exc:
        raise SeparationError(f"{filename}: {exc}", code="invalid_audio") from None
    from billing import services as billing

    billing.check_upload_allowed(workspace, size, duration_ms=info.duration_ms)

    upload = Upload(
        workspace=workspace,
        created_by=user,
        api_key=api_key,
        filename=filename,
        size=size,
        expires_at=timezone.now() + timedelta(days=billing.retention_days(workspace)),
        duration_ms=info.duration_ms,
        sample_rate=info.sample_rate,
        channels=info.channels,
        container=info.container,
        codec=info.codec,
    )
    with open(local_path, "rb") as handle:
        upload.file.save(filename, File(handle), save=False)
    try:
        upload.save()
    except Exception:
        upload.file.delete(save=False)
        raise
    log.info(
        "upload %s stored for workspace %s (%s bytes, %.1f s)",
        upload.id,
        workspace.id,
        size,
        info.duration_ms / 1000,
    )
    return upload


def delete_upload(upload: Upload) -> None:
    for job in upload.jobs.all():
        delete_job(job)
    upload.file.delete(save=False)
    upload.delete()


# --- Jobs -------------------------------------------------------------------------------------


def add_event(job: Job, message: str) -> None:
    JobEvent.objects.create(job=job, message=message[:300])


def create_job(
    workspace: Workspace,
    upload: Upload,
    request: dict,
    *,
    user: User | None = None,
    api_key: ApiKey | None = None,
) -> Job:
    """Validate a separation request for `upload` and queue it (on commit).

    `request` holds the client's fields (model/stems, format, section, …); see
    separation.options.parse_job_request. Raises SeparationError with a message naming the field.
    """
    if upload.workspace_id != workspace.id:
        raise SeparationError("Upload not found.", code="not_found", status=404)
    options: JobOptions = parse_job_request(request, upload)
    from billing import services as billing

    with transaction.atomic():
        job = Job(
            workspace=workspace,
            upload=upload,
            created_by=user,
            api_key=api_key,
            model=options.model,
            format=options.format,
            options=options.to_json(),
            callback_url=options.callback_url,
            custom_metadata=options.custom_metadata,
            billed_seconds=options.billed_seconds(upload),
        )
        billing.check_job_allowed(workspace, job)
        job.save()
        billing.reserve_minutes(job)
        add_event(job, "queued")
        transaction.on_commit(lambda: enqueue(job.id))
    log.info("job %s queued for workspace %s (%s, %s)", job.id, workspace.id, job.model, job.format)
    return job


def enqueue(job_id: str) -> None:
    from separation.tasks import separate

    separate.delay(job_id)


def claim_job(job_id: str, worker: str) -> Job | None:
    """Move a queued job to processing for `worker`. None if someone else has it or it ended.

    A conditional UPDATE: two workers given the same job id cannot both claim it.
    """
    now = timezone.now()
    claimed = Job.objects.filter(id=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.PROCESSING,
        worker=worker[:200],
        heartbeat_at=now,
        started_at=now,
        progress=0,
        error="",
    )
    if claimed != 1:
        return None
    job = Job.objects.select_related("upload", "workspace").get(id=job_id)
    Job.objects.filter(id=job_id).update(attempts=job.attempts + 1)
    job.attempts += 1
    add_event(job, f"processing (attempt {job.attempts})")
    return job


def still_running(job: Job) -> bool:
    """False once the job was cancelled, deleted or taken from this worker: stop working on it."""
    return Job.objects.filter(id=job.id, status=JobStatus.PROCESSING, worker=job.worker).exists()


def record_progress(job: Job, progress: float, message: str | None = None) -> None:
    progress = max(0, min(100, int(progress)))
    Job.objects.filter(id=job.id, status=JobStatus.PROCESSING).update(
        progress=progress, heartbeat_at=timezone.now()
    )
    job.progress = progress
    if message:
        add_event(job, message)


def heartbeat(job_id: str, worker: str) -> None:
    Job.objects.filter(id=job_id, status=JobStatus.PROCESSING, worker=worker).update(
        heartbeat_at=timezone.now()
    )


def complete_job(job: Job, analysis: dict | None = None) -> bool:
    """processing -> completed; captures the reserved minutes. False if the job left processing."""
    from billing import services as billing

    with transaction.atomic():
        done = Job.objects.filter(id=job.id, status=JobStatus.PROCESSING, worker=job.worker).update(
            status=JobStatus.COMPLETED,
            progress=100,
            finished_at=timezone.now(),
            analysis=analysis or {},
        )
        if done != 1:
            return False
        job.refresh_from_db()
        billing.capture_minutes(job)
        add_event(job, "completed")
    notify(job)
    return True


def fail_job(job: Job, error: str) -> bool:
    """processing -> failed; releases the reserved minutes."""
    from billing import services as billing

    with transaction.atomic():
        done = Job.objects.filter(id=job.id, status=JobStatus.PROCESSING).update(
            status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now()
        )
        if done != 1:
            return False
        job.refresh_from_db()
        billing.release_minutes(job)
        add_event(job, f"failed: {error[:250]}")
    log.warning("job %s failed: %s", job.id, error)
    notify(job)
    return True


def cancel_job(job: Job) -> Job:
    """queued/processing -> cancelled. A queued job never starts; a running one stops at its next
    chunk. Cancelling a job that already ended is an error (409)."""
    from billing import services as billing

    with transaction.atomic():
        done = Job.objects.filter(
            id=job.id, status__in=[JobStatus.QUEUED, JobStatus.PROCESSING]
        ).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
        job.refresh_from_db()
        if done != 1:
            raise SeparationError(
                f"Job {job.id} is already {job.status}; only queued or processing jobs can be "
                "cancelled.",
                code="job_not_cancellable",
                status=409,
            )
        billing.release_minutes(job)
        add_event(job, "cancelled")
    notify(job)
    return job


def delete_job(job: Job) -> None:
    """Remove a job, its files and its mixes. A running job is cancelled first."""
    if job.status in (JobStatus.QUEUED, JobStatus.PROCESSING):
        try:
            cancel_job(job)
        except SeparationError:
            pass
    for output in job.outputs.all():
        output.file.delete(save=False)
    for mix in job.mixes.all():
        if mix.file:
            mix.file.delete(save=False)
    job.delete()


def requeue_stale_jobs() -> list[str]:
    """Jobs whose worker stopped sending heartbeats (killed, out of memory): retry each once,
    then fail it with a clear error. Returns the ids it acted on."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    acted = []
    stale = Job.objects.filter(status=JobStatus.PROCESSING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    for job in stale:
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            moved = Job.objects.filter(
                id=job.id, status=JobStatus.PROCESSING, heartbeat_at=job.heartbeat_at
            ).update(status=JobStatus.QUEUED, worker="", progress=0)
            if moved:
                add_event(job, "worker lost; retrying")
                transaction.on_commit(functools.partial(enqueue, job.id))
                acted.append(job.id)
        elif fail_job(
            job,
            f"The worker processing this job stopped responding {job.attempts} times; giving up.",
        ):
            acted.append(job.id)
    return acted


def purge_expired() -> int:
    """Delete uploads (and their jobs and files) past their retention date."""
    count = 0
    for upload in Upload.objects.filter(expires_at__lt=timezone.now()):
        delete_upload(upload)
        count += 1
    return count


# --- Outputs ----------------------------------------------------------------------------------


def save_output(job: Job, stem: str, fmt: str, local_path: str) -> Output:
    output = Output(job=job, stem=stem, format=fmt, size=os.path.getsize(local_path))
    with open(local_path, "rb") as handle:
        output.file.save(f"{stem}.{fmt}", File(handle), save=False)
    existing = Output.objects.filter(job=job, stem=stem, format=fmt).first()
    if existing:  # a retried job replaces what an earlier attempt left
        existing.file.delete(save=False)
        existing.delete()
    output.save()
    return output


def output_in_format(job: Job, stem: str, fmt: str, **encode_options) -> Output:
    """The stem in `fmt`, converted from a stored output on first request and kept."""
    if job.status != JobStatus.COMPLETED:
        raise SeparationError(
            f"Job {job.id} is {job.status}; stems exist once it completed.",
            code="job_not_completed",
            status=409,
        )
    if fmt not in audio.FORMATS:
        raise SeparationError(
            f"Unknown format {fmt!r}; use one of {', '.join(audio.FORMATS)}.", code="invalid_format"
        )
    existing = job.outputs.filter(stem=stem).order_by("id")
    if not existing.exists():
        raise SeparationError(f"Job {job.id} has no stem {stem!r}.", code="not_found", status=404)
    found = existing.filter(format=fmt).first()
    if found:
        return found
    source = existing.filter(format__in=audio.LOSSLESS).first() or existing.first()
    assert source is not None  # existing.exists() was checked above
    with tempfile.TemporaryDirectory(prefix="stemsaas-convert-") as tmp:
        src = os.path.join(tmp, f"src.{source.format}")
        with source.file.open("rb") as stored, open(src, "wb") as local:
            for block in iter(lambda: stored.read(1024 * 1024), b""):
                local.write(block)
        dst = os.path.join(tmp, f"{stem}.{fmt}")
        audio.convert(src, dst, fmt, sample_rate=job.upload.sample_rate, **encode_options)
        return save_output(job, stem, fmt, dst)


def is_final(job: Job) -> bool:
    return job.status in FINAL_STATUSES


def notify(job: Job) -> None:
    """POST the job's final state to its callback URL, from a task (never inline)."""
    if job.callback_url:
        from separation.tasks import send_callback

        transaction.on_commit(lambda: send_callback.delay(job.id))


# Helpers that pick the installed models for error messages.
def installed_model_names() -> list[str]:
    return [spec.name for spec in catalog.installed_models()]


# --- Mixes ------------------------------------------------------------------------------------


def _mix_tracks(job: Job, tracks) -> list[dict]:
    if not isinstance(tracks, list) or not tracks:
        raise SeparationError(
            "tracks must be a non-empty list of {stem, volume, pan}.", code="invalid_mix"
        )
    stems = set(job.outputs.values_list("stem", flat=True))
    clean = []
    for index, track in enumerate(tracks):
        if not isinstance(track, dict) or "stem" not in track:
            raise SeparationError(
                f"tracks[{index}] must be an object with a stem.", code="invalid_mix"
            )
        unknown = set(track) - {"stem", "volume", "pan"}
        if unknown:
            raise SeparationError(
                f"tracks[{index}] has unknown field(s) {', '.join(sorted(unknown))}.",
                code="invalid_mix",
            )
        if track["stem"] not in stems:
            raise SeparationError(
                f"tracks[{index}].stem {track['stem']!r} is not a stem of this job; "
                f"its stems are {', '.join(sorted(stems))}.",
                code="invalid_mix",
            )
        values = {}
        for name, low, high, default in (("volume", 0.0, 1.0, 1.0), ("pan", -1.0, 1.0, 0.0)):
            value = track.get(name, default)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not low <= value <= high
            ):
                raise SeparationError(
                    f"tracks[{index}].{name} must be a number from {low:g} to "
                    f"{high:g}, not {value!r}.",
                    code="invalid_mix",
                )
            values[name] = float(value)
        clean.append({"stem": track["stem"], **values})
    return clean


def create_mix(job: Job, tracks, fmt: str = "wav", name: str = "mix", **encode_options) -> Mix:
    """Mix the job's stems with per-track volume (0-1) and pan (-1 left .. 1 right) into a file.

    Streams block by block: memory does not grow with the song's length.
    """
    import itertools

    import numpy as np

    if job.status != JobStatus.COMPLETED:
        raise SeparationError(
            f"Job {job.id} is {job.status}; mixes need a completed job.",
            code="job_not_completed",
            status=409,
        )
    clean = _mix_tracks(job, tracks)
    if fmt not in audio.FORMATS:
        raise SeparationError(
            f"Unknown format {fmt!r}; use one of {', '.join(audio.FORMATS)}.", code="invalid_format"
        )
    try:
        audio.encode_args(fmt, **encode_options)
    except audio.AudioError as exc:
        raise SeparationError(str(exc), code="invalid_format") from None
    name = (str(name or "mix").strip() or "mix")[:100]
    with tempfile.TemporaryDirectory(prefix="stemsaas-mix-") as tmp:
        streams, gains = [], []
        for index, track in enumerate(clean):
            output = (
                job.outputs.filter(stem=track["stem"], format__in=audio.LOSSLESS).first()
                or job.outputs.filter(stem=track["stem"]).first()
            )
            assert output is not None  # _mix_tracks accepts only stems the job has
            local = os.path.join(tmp, f"{index}.{output.format}")
            with output.file.open("rb") as stored, open(local, "wb") as handle:
                for block in iter(lambda: stored.read(1024 * 1024), b""):
                    handle.write(block)
            streams.append(audio.decode(local, audio.probe(local)))
            pan, volume = track["pan"], track["volume"]
            gains.append(
                np.array(
                    [volume * min(1.0, 1.0 - pan), volume * min(1.0, 1.0 + pan)], dtype=np.float32
                )
            )
        target = os.path.join(tmp, f"mix.{fmt}")
        encoder = audio.Encoder(target, fmt, sample_rate=job.upload.sample_rate, **encode_options)
        try:
            for blocks in itertools.zip_longest(*streams):
                length = max(len(block) for block in blocks if block is not None)
                total = np.zeros((length, 2), np.float32)
                for block, gain in zip(blocks, gains, strict=True):
                    if block is not None:
                        total[: len(block)] += block * gain
                encoder.write(total)
        except BaseException:
            encoder.abort()
            raise
        encoder.close()
        mix = Mix(job=job, name=name, tracks=clean, format=fmt, size=os.path.getsize(target))
        safe = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in name).strip() or "mix"
        with open(target, "rb") as handle:
            mix.file.save(f"{safe}.{fmt}", File(handle), save=False)
        mix.save()
    return mix
