"""Thin Celery wrappers around separation services. Separation runs on its own queue."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlparse

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.http import HttpRequest

log = logging.getLogger(__name__)


@shared_task(name="separation.tasks.separate", acks_late=True, reject_on_worker_lost=True)
def separate(job_id: str) -> str:
    from django.db import close_old_connections

    from separation.runner import run_job

    close_old_connections()  # a long job must not start on a connection the server dropped
    try:
        return run_job(job_id)
    finally:
        close_old_connections()


@shared_task(name="separation.tasks.requeue_stale_jobs")
def requeue_stale_jobs() -> list[str]:
    from separation.services import requeue_stale_jobs as requeue

    return requeue()


@shared_task(name="separation.tasks.purge_expired")
def purge_expired() -> int:
    from separation.services import purge_expired as purge

    return purge()


class _SiteRequest(HttpRequest):
    def _get_scheme(self) -> str:
        return urlparse(settings.SITE_URL).scheme or "http"


def site_request() -> HttpRequest:
    """A request for SITE_URL, so that the links in a callback are absolute and signed."""
    site = urlparse(settings.SITE_URL)
    request = _SiteRequest()
    request.META = {
        "HTTP_HOST": site.netloc,
        "SERVER_NAME": site.hostname or "localhost",
        "SERVER_PORT": str(site.port or (443 if site.scheme == "https" else 80)),
    }
    return request


@shared_task(
    name="separation.tasks.send_callback", bind=True, max_retries=5, default_retry_delay=30
)
def send_callback(self, job_id: str) -> int | None:
    """POST the job's JSON to its callback_url; retried on network errors and 5xx."""
    from separation.api.serializers import JobSerializer
    from separation.models import Job

    job = Job.objects.filter(id=job_id).select_related("upload").first()
    if job is None or not job.callback_url:
        return None
    payload = JobSerializer(job, context={"request": site_request()}).data
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(
        job.callback_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "StemSaaS-callback/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise self.retry(exc=exc) from None
        log.warning("callback for %s refused with %s", job_id, exc.code)
        return exc.code
    except OSError as exc:
        raise self.retry(exc=exc) from None


@worker_process_init.connect
def load_models_after_fork(**kwargs) -> None:
    """Build the TensorFlow graphs in each worker process, after the fork, never before."""
    from separation.runner import warm_up

    warm_up(settings.ENGINE_PRELOAD)


@worker_ready.connect
def recover_jobs_of_dead_workers(sender=None, **kwargs) -> None:
    """A worker (re)starting after a crash picks up what the dead one left processing."""
    requeue_stale_jobs.delay()
