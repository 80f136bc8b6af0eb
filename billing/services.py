"""Billing verbs called by the separation services (plans, minutes ledger).

Placeholder bodies until the billing issue lands: every job is allowed and nothing is charged.
"""


def check_upload_allowed(workspace, size: int) -> None:
    return None


def check_job_allowed(workspace, job) -> None:
    return None


def reserve_minutes(job) -> None:
    return None


def capture_minutes(job) -> None:
    return None


def release_minutes(job) -> None:
    return None
