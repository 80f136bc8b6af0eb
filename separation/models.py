"""Uploads, separation jobs, their events and the files they produce. All owned by a workspace."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Workspace
from lib.ids import new_job_id, new_mix_id, new_output_id, new_upload_id


def upload_path(instance: Upload, filename: str) -> str:
    return f"{instance.workspace_id}/uploads/{instance.id}/{filename}"


def output_path(instance: Output, filename: str) -> str:
    return f"{instance.job.workspace_id}/jobs/{instance.job_id}/{filename}"


def mix_path(instance: Mix, filename: str) -> str:
    return f"{instance.job.workspace_id}/jobs/{instance.job_id}/mixes/{filename}"


def default_expiry():
    return timezone.now() + timedelta(days=settings.UPLOAD_RETENTION_DAYS)


class Upload(models.Model):
    """An audio file a workspace sent us, probed with ffmpeg before it was accepted."""

    id = models.CharField(primary_key=True, max_length=32, default=new_upload_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to=upload_path, max_length=500)
    size = models.PositiveBigIntegerField()
    duration_ms = models.PositiveBigIntegerField()
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    container = models.CharField(
        max_length=40, help_text="ffmpeg demuxer the content was recognised as"
    )
    codec = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=default_expiry)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"

    @property
    def duration(self) -> float:
        return self.duration_ms / 1000


class JobStatus(models.TextChoices):
    """Allowed transitions, each done by one function in separation.services:

    queued -> processing   (claim_job, by the worker)
    queued -> cancelled    (cancel_job)
    processing -> completed (complete_job)
    processing -> failed   (fail_job; or requeue_stale_jobs after the last attempt)
    processing -> queued   (requeue_stale_jobs, when the worker died and attempts remain)
    processing -> cancelled (cancel_job; the worker stops at its next chunk)
    """

    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_job_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    model = models.CharField(max_length=40, default="spleeter:2stems")
    format = models.CharField(max_length=8, default="wav")
    # stems, section {start, duration}, bitrate, bit_depth: see separation.options.
    options = models.JSONField(default=dict, blank=True)
    callback_url = models.URLField(blank=True, max_length=500)
    custom_metadata = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Seconds of input audio this job separates (the section if any): what it costs.
    billed_seconds = models.PositiveIntegerField(default=0)
    # Tempo, key and waveform peaks, computed by the worker.
    analysis = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.model} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def queue_position(self) -> int | None:
        """1 for the next job a worker will take; None once it left the queue."""
        if self.status != JobStatus.QUEUED:
            return None
        return Job.objects.filter(status=JobStatus.QUEUED, created_at__lte=self.created_at).count()


class JobEvent(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    message = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id} {self.at:%H:%M:%S} {self.message}"


class Output(models.Model):
    """One stem of a job in one format. Other formats are converted on demand and kept."""

    id = models.CharField(primary_key=True, max_length=32, default=new_output_id, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="outputs")
    stem = models.CharField(max_length=40)
    format = models.CharField(max_length=8)
    file = models.FileField(upload_to=output_path, max_length=500)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "stem", "format"], name="one_output_per_stem_format"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.stem}.{self.format}"


class Mix(models.Model):
    """A server-side mix of a job's stems with per-track volume and pan."""

    id = models.CharField(primary_key=True, max_length=32, default=new_mix_id, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="mixes")
    name = models.CharField(max_length=100, default="mix")
    tracks = models.JSONField()
    format = models.CharField(max_length=8, default="wav")
    file = models.FileField(upload_to=mix_path, max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"
