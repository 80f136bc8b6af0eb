"""How long until a job ends, from the throughput measured on this deployment.

Each completed job records its speed (seconds of audio separated per wall second) in its
analysis; the estimate uses the median of the recent ones, per model, so that it follows the
machines this deployment really runs on.
"""

from __future__ import annotations

import statistics

from django.utils import timezone

from separation.models import Job, JobStatus

DEFAULT_SPEED = 8.0  # audio seconds per wall second, until this deployment has measured its own
SAMPLE = 20


def measured_speed(model: str) -> float:
    speeds = [
        job.analysis.get("speed")
        for job in Job.objects.filter(status=JobStatus.COMPLETED, model=model)
        .order_by("-finished_at")
        .only("analysis")[:SAMPLE]
    ]
    speeds = [speed for speed in speeds if isinstance(speed, (int, float)) and speed > 0]
    return statistics.median(speeds) if speeds else DEFAULT_SPEED


def remaining_seconds(job: Job, speed: float) -> float:
    work = job.billed_seconds / speed
    if job.status == JobStatus.PROCESSING and job.progress > 0 and job.started_at:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        # Blend the measured rate of this very job with the deployment's once it has progressed.
        by_progress = elapsed * (100 - job.progress) / job.progress
        return min(by_progress, work) if job.progress < 10 else by_progress
    return work


def eta_seconds(job: Job) -> float | None:
    """Seconds until `job` ends: its own remaining work plus, when queued, the jobs ahead."""
    if job.status == JobStatus.COMPLETED:
        return 0.0
    if job.status not in (JobStatus.QUEUED, JobStatus.PROCESSING):
        return None
    total = remaining_seconds(job, measured_speed(job.model))
    if job.status == JobStatus.QUEUED:
        ahead = Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=job.created_at)
        running = Job.objects.filter(status=JobStatus.PROCESSING)
        workers = max(1, running.values("worker").distinct().count())
        backlog = sum(
            remaining_seconds(other, measured_speed(other.model))
            for other in list(ahead[:100]) + list(running[:100])
        )
        total += backlog / workers
    return round(total, 1)
