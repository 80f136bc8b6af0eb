"""Thin Celery wrappers around billing services."""

import stripe
from celery import shared_task

from billing import services

# Network trouble, rate limits and Stripe's own 5xx are worth retrying; a 4xx is not.
RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@shared_task(
    autoretry_for=RETRYABLE,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=12,
)
def report_overage(charge_id: str) -> bool:
    """Send one job's overage minutes to Stripe's meter. Safe to run twice: the charge remembers
    it was reported and Stripe drops a second event with the same identifier (the job id)."""
    return services.report_overage(charge_id)


@shared_task
def report_pending_overage() -> int:
    """Requeue meter events whose task was lost (run from beat every few minutes)."""
    pending = services.unreported_overage()
    for charge_id in pending:
        report_overage.delay(charge_id)
    return len(pending)
