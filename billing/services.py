"""The verbs of billing: plan limits and the minutes ledger.

Called by the separation services (uploads, jobs, downloads), the API and the pages. A refusal is
a `separation.services.SeparationError` whose message names the limit and the plan that lifts it.
Minutes are whole seconds. Every change to a workspace's minutes happens while its Subscription
row is locked (SELECT … FOR UPDATE), so two submissions never spend the same minutes.

Subscription changes driven by Stripe live in billing.subscriptions.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Charge, ChargeStatus, Plan, Subscription, UsagePeriod

log = logging.getLogger(__name__)

ACTIVE_JOB_STATUSES = ("queued", "processing")
CONCURRENCY_RETRY_AFTER = 30


def _refuse(message: str, code: str, status: int, **extra):
    from separation.services import SeparationError

    return SeparationError(message, code=code, status=status, **extra)


def minutes(seconds: int) -> float:
    """Seconds shown as minutes, to two decimals (display only: the ledger keeps seconds)."""
    return round(seconds / 60, 2)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- Plans and subscriptions -----------------------------------------------------------------


def subscription_for(workspace, *, lock: bool = False) -> Subscription:
    """The workspace's Subscription, created on the default plan the first time it is needed.

    With `lock`, the row is locked until the surrounding transaction ends.
    """
    sub = Subscription.objects.filter(workspace=workspace).select_related("plan").first()
    if sub is None:
        sub, _ = Subscription.objects.get_or_create(
            workspace=workspace, defaults={"plan": Plan.objects.default()}
        )
    if lock:
        sub = Subscription.objects.select_for_update().select_related("plan").get(pk=sub.pk)
    return sub


def plan_for(workspace) -> Plan:
    return subscription_for(workspace).plan


def retention_days(workspace) -> int:
    """Days a workspace's uploads and stems are kept (its plan's retention)."""
    return plan_for(workspace).retention_days


def lifting_plan(current: Plan, allows: Callable[[Plan], bool]) -> Plan | None:
    """The cheapest public plan above `current` for which `allows(plan)` holds."""
    for plan in Plan.objects.public().exclude(pk=current.pk):
        if plan.position > current.position and allows(plan):
            return plan
    return None


def upgrade_hint(current: Plan, allows: Callable[[Plan], bool], what: Callable[[Plan], str]) -> str:
    plan = lifting_plan(current, allows)
    if plan is None:
        return "No plan allows more; contact us for a custom plan."
    if plan.is_custom:
        return f"The {plan.name} plan allows {what(plan)}; contact us to arrange it."
    return f"The {plan.name} plan allows {what(plan)}: upgrade at /billing/."


def assign_plan(workspace, plan: Plan) -> Subscription:
    """Put a workspace on `plan` by hand (the admin, or without Stripe). Stripe state is kept."""
    with transaction.atomic():
        sub = subscription_for(workspace, lock=True)
        sub.plan = plan
        sub.save(update_fields=["plan", "updated_at"])
    log.info("workspace %s assigned plan %s", workspace.pk, plan.slug)
    return sub


# --- Billing periods -------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def period_bounds(sub: Subscription, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The billing period containing `now`: Stripe's current period when there is one (rolled
    forward month by month if Stripe's renewal has not reached us yet), else the calendar month
    (UTC)."""
    now = now or timezone.now()
    start, end = sub.current_period_start, sub.current_period_end
    if start and end:
        if now < end:
            return start, end
        months = 1
        while add_months(start, months + 1) <= now:
            months += 1
        return add_months(start, months), add_months(start, months + 1)
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first, add_months(first, 1)


def current_period(sub: Subscription, now: datetime | None = None) -> UsagePeriod:
    start, end = period_bounds(sub, now)
    period, created = UsagePeriod.objects.get_or_create(
        workspace_id=sub.workspace_id, start=start, defaults={"end": end}
    )
    if not created and period.end != end:
        period.end = end
        period.save(update_fields=["end"])
    return period


# --- Usage -----------------------------------------------------------------------------------


@dataclass
class Usage:
    plan: Plan
    status: str
    period_start: datetime
    period_end: datetime
    limit_seconds: int
    used_seconds: int
    reserved_seconds: int
    overage_seconds: int
    per_day: list[tuple[date, int]] = field(default_factory=list)

    @property
    def left_seconds(self) -> int:
        return max(0, self.limit_seconds - self.used_seconds - self.reserved_seconds)

    @property
    def used_percent(self) -> int:
        if not self.limit_seconds:
            return 100
        return min(
            100, math.floor(100 * (self.used_seconds + self.reserved_seconds) / self.limit_seconds)
        )


def usage_for(workspace, now: datetime | None = None) -> Usage:
    """The workspace's minutes in the current period, with captured seconds per day."""
    sub = subscription_for(workspace)
    period = current_period(sub, now)
    by_day = dict(
        Charge.objects.filter(period=period, status=ChargeStatus.CAPTURED)
        .annotate(day=TruncDate("captured_at", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum("seconds"))
        .values_list("day", "total")
    )
    today = (now or timezone.now()).astimezone(UTC).date()
    last = min(today, (period.end - timedelta(microseconds=1)).astimezone(UTC).date())
    day = period.start.astimezone(UTC).date()
    per_day = []
    while day <= last:
        per_day.append((day, int(by_day.get(day) or 0)))
        day += timedelta(days=1)
    return Usage(
        plan=sub.plan,
        status=sub.status,
        period_start=period.start,
        period_end=period.end,
        limit_seconds=sub.plan.included_seconds,
        used_seconds=period.used_seconds,
        reserved_seconds=period.reserved_seconds,
        overage_seconds=period.overage_seconds,
        per_day=per_day,
    )


# --- Limits ----------------------------------------------------------------------------------


def check_upload_allowed(workspace, size: int, duration_ms: int | None = None) -> None:
    """Refuse (413) a file larger than the plan accepts: call before storing anything."""
    plan = plan_for(workspace)
    if size > plan.max_upload_bytes:
        hint = upgrade_hint(
            plan,
            lambda p: p.max_upload_bytes >= size,
            lambda p: f"files up to {p.max_upload_mb} MB",
        )
        raise _refuse(
            f"The file is {_mb(size)}; the {plan.name} plan accepts files up to "
            f"{plan.max_upload_mb} MB. {hint}",
            code="file_too_large",
            status=413,
            limit_bytes=plan.max_upload_bytes,
            plan=plan.slug,
        )
    if duration_ms is not None:
        _check_file_duration(plan, duration_ms)


def _check_file_duration(plan: Plan, duration_ms: int) -> None:
    seconds = math.ceil(duration_ms / 1000)
    if seconds > plan.max_file_seconds:
        hint = upgrade_hint(
            plan,
            lambda p: p.max_file_seconds >= seconds,
            lambda p: f"files up to {p.max_file_seconds // 60} minutes long",
        )
        raise _refuse(
            f"The audio is {seconds // 60} min {seconds % 60} s long; the {plan.name} plan accepts "
            f"files up to {plan.max_file_seconds // 60} minutes. {hint}",
            code="file_too_long",
            status=413,
            limit_seconds=plan.max_file_seconds,
            plan=plan.slug,
        )


def check_api_access(workspace) -> Plan:
    """Refuse (403) API use on a plan without API access; returns the plan otherwise."""
    plan = plan_for(workspace)
    if not plan.api_access:
        hint = upgrade_hint(plan, lambda p: p.api_access, lambda p: "API access")
        raise _refuse(
            f"The {plan.name} plan does not include API access. {hint}",
            code="api_not_in_plan",
            status=403,
            plan=plan.slug,
        )
    return plan


def check_payment_standing(sub: Subscription) -> None:
    if sub.blocked:
        raise _refuse(
            f"The {sub.plan.name} subscription is {sub.get_status_display().lower()}: the last "
            "payment failed, so new jobs are paused until it succeeds. Update the payment method "
            "from the billing page (/billing/). Your existing files stay available.",
            code="payment_past_due",
            status=402,
            subscription_status=sub.status,
            plan=sub.plan.slug,
        )


def check_job_allowed(workspace, job) -> None:
    """Everything a new job must pass: payment standing, model, format, file length, concurrent
    jobs and minutes left. Locks the workspace's Subscription row for the rest of the caller's
    transaction, so call it inside the transaction that saves the job and reserves its minutes.
    """
    with transaction.atomic():
        sub = subscription_for(workspace, lock=True)
        plan = sub.plan
        check_payment_standing(sub)
        if not plan.allows_model(job.model):
            hint = upgrade_hint(plan, lambda p: p.allows_model(job.model), lambda p: job.model)
            raise _refuse(
                f"The model {job.model} is not in the {plan.name} plan. {hint}",
                code="model_not_in_plan",
                status=403,
                plan=plan.slug,
            )
        if not plan.allows_format(job.format):
            hint = upgrade_hint(
                plan, lambda p: p.allows_format(job.format), lambda p: f"{job.format} output"
            )
            raise _refuse(
                f"The {job.format} format is not in the {plan.name} plan. {hint}",
                code="format_not_in_plan",
                status=403,
                plan=plan.slug,
            )
        if job.upload_id:
            _check_file_duration(plan, job.upload.duration_ms)
        running = workspace.jobs.filter(status__in=ACTIVE_JOB_STATUSES).exclude(pk=job.pk).count()
        if running >= plan.concurrent_jobs:
            hint = upgrade_hint(
                plan,
                lambda p: p.concurrent_jobs > plan.concurrent_jobs,
                lambda p: f"{p.concurrent_jobs} jobs at a time",
            )
            raise _refuse(
                f"The {plan.name} plan runs {plan.concurrent_jobs} job(s) at a time and "
                f"{running} are queued or running; retry when one finishes. {hint}",
                code="too_many_concurrent_jobs",
                status=429,
                limit=plan.concurrent_jobs,
                retry_after=CONCURRENCY_RETRY_AFTER,
                plan=plan.slug,
            )
        _check_minutes(sub, current_period(sub), job.billed_seconds)


def _check_minutes(sub: Subscription, period: UsagePeriod, seconds: int) -> None:
    plan = sub.plan
    limit = plan.included_seconds
    left = max(0, limit - period.used_seconds - period.reserved_seconds)
    if seconds <= left or plan.overage_allowed:
        return
    hint = upgrade_hint(
        plan,
        lambda p: p.included_seconds > limit or p.overage_allowed,
        lambda p: (
            f"{p.included_minutes} minutes a month"
            + (" and pay-as-you-go minutes beyond" if p.overage_allowed else "")
        ),
    )
    raise _refuse(
        f"This job needs {minutes(seconds)} minutes but only {minutes(left)} of the "
        f"{plan.included_minutes} minutes in the {plan.name} plan are left this period "
        f"(until {period.end:%Y-%m-%d}). {hint}",
        code="insufficient_minutes",
        status=402,
        unit="seconds",
        requested=seconds,
        limit=limit,
        used=period.used_seconds,
        reserved=period.reserved_seconds,
        left=left,
        plan=plan.slug,
        period_end=period.end.isoformat(),
    )


def check_download_allowed(workspace, job, fmt: str | None = None) -> None:
    """Downloads stay allowed while a payment is past due; only the plan's formats (403) and
    retention (410) apply."""
    plan = plan_for(workspace)
    if fmt and not plan.allows_format(fmt):
        hint = upgrade_hint(plan, lambda p: p.allows_format(fmt), lambda p: f"{fmt} downloads")
        raise _refuse(
            f"The {fmt} format is not in the {plan.name} plan. {hint}",
            code="format_not_in_plan",
            status=403,
            plan=plan.slug,
        )
    finished = job.finished_at or job.created_at
    if finished + timedelta(days=plan.retention_days) < timezone.now():
        raise _refuse(
            f"The {plan.name} plan keeps files for {plan.retention_days} day(s); job {job.id}'s "
            "files have expired.",
            code="files_expired",
            status=410,
            plan=plan.slug,
        )


# --- Minutes ledger --------------------------------------------------------------------------


def reserve_minutes(job) -> Charge:
    """Reserve `job.billed_seconds` for a job being accepted. Idempotent per job: a repeat
    returns the existing charge and reserves nothing more. Refuses (402) like check_job_allowed
    when the minutes are not there."""
    with transaction.atomic():
        existing = Charge.objects.filter(job_ref=job.pk).first()
        if existing:
            return existing
        sub = subscription_for(job.workspace, lock=True)
        period = current_period(sub)
        _check_minutes(sub, period, job.billed_seconds)
        charge = Charge.objects.create(
            workspace_id=job.workspace_id,
            period=period,
            job=job,
            job_ref=job.pk,
            seconds=job.billed_seconds,
        )
        UsagePeriod.objects.filter(pk=period.pk).update(
            reserved_seconds=F("reserved_seconds") + charge.seconds
        )
    log.info("job %s reserved %s s for workspace %s", job.pk, charge.seconds, job.workspace_id)
    return charge


def capture_minutes(job) -> Charge | None:
    """Turn the job's reservation into used minutes (once; a repeat changes nothing). Minutes
    beyond the plan's included ones are overage, sent to Stripe's meter after commit."""
    with transaction.atomic():
        sub = subscription_for(job.workspace, lock=True)
        charge = Charge.objects.filter(job_ref=job.pk).first()
        if charge is None:
            # Accepted before billing recorded reservations: capture it now, without refusing.
            period = current_period(sub)
            charge = Charge.objects.create(
                workspace_id=job.workspace_id,
                period=period,
                job=job,
                job_ref=job.pk,
                seconds=job.billed_seconds,
            )
            UsagePeriod.objects.filter(pk=period.pk).update(
                reserved_seconds=F("reserved_seconds") + charge.seconds
            )
        if charge.status != ChargeStatus.RESERVED:
            return charge
        period = UsagePeriod.objects.get(pk=charge.period_id)
        overage = 0
        if sub.plan.overage_allowed:
            limit = sub.plan.included_seconds
            before = period.used_seconds
            overage = max(0, before + charge.seconds - limit) - max(0, before - limit)
        now = timezone.now()
        moved = Charge.objects.filter(pk=charge.pk, status=ChargeStatus.RESERVED).update(
            status=ChargeStatus.CAPTURED, captured_at=now, overage_seconds=overage
        )
        if moved != 1:
            return charge
        UsagePeriod.objects.filter(pk=period.pk).update(
            reserved_seconds=F("reserved_seconds") - charge.seconds,
            used_seconds=F("used_seconds") + charge.seconds,
            overage_seconds=F("overage_seconds") + overage,
        )
        charge.refresh_from_db()
        if overage and sub.stripe_customer_id:
            from billing.tasks import report_overage

            transaction.on_commit(lambda: report_overage.delay(charge.pk))
    log.info(
        "job %s captured %s s (%s s overage) for workspace %s",
        job.pk,
        charge.seconds,
        overage,
        job.workspace_id,
    )
    return charge


def release_minutes(job) -> Charge | None:
    """Give back a failed or cancelled job's reservation (once; a repeat changes nothing)."""
    with transaction.atomic():
        subscription_for(job.workspace, lock=True)
        charge = Charge.objects.filter(job_ref=job.pk).first()
        if charge is None or charge.status != ChargeStatus.RESERVED:
            return charge
        moved = Charge.objects.filter(pk=charge.pk, status=ChargeStatus.RESERVED).update(
            status=ChargeStatus.RELEASED, released_at=timezone.now()
        )
        if moved == 1:
            UsagePeriod.objects.filter(pk=charge.period_id).update(
                reserved_seconds=F("reserved_seconds") - charge.seconds
            )
            charge.refresh_from_db()
    log.info("job %s released %s s for workspace %s", job.pk, charge.seconds, job.workspace_id)
    return charge


def report_overage(charge_id: str) -> bool:
    """Send a captured charge's overage to Stripe's meter, once. True if it is reported (now or
    before). Stripe errors propagate so the task can retry; the identifier (the job id) makes a
    repeat harmless on Stripe's side too."""
    from billing import stripe_client

    charge = Charge.objects.select_related("workspace__subscription").filter(pk=charge_id).first()
    if charge is None or charge.status != ChargeStatus.CAPTURED or not charge.overage_seconds:
        return False
    if charge.meter_reported_at:
        return True
    customer = charge.workspace.subscription.stripe_customer_id
    if not customer or not stripe_client.configured():
        return False
    assert charge.captured_at is not None  # set in the same update as status=CAPTURED
    try:
        stripe_client.send_meter_event(
            customer=customer,
            seconds=charge.overage_seconds,
            identifier=charge.job_ref,
            timestamp=int(charge.captured_at.timestamp()),
        )
    except Exception as exc:
        # Stripe refuses a second event with the same identifier: an earlier attempt got through.
        if getattr(exc, "code", None) != "resource_already_exists":
            Charge.objects.filter(pk=charge.pk).update(meter_error=str(exc)[:2000])
            raise
    Charge.objects.filter(pk=charge.pk, meter_reported_at__isnull=True).update(
        meter_reported_at=timezone.now(), meter_error=""
    )
    log.info("overage of job %s (%s s) sent to Stripe", charge.job_ref, charge.overage_seconds)
    return True


def unreported_overage(older_than: timedelta = timedelta(minutes=10)) -> list[str]:
    """Captured charges with overage whose meter event never went out (a lost task)."""
    cutoff = timezone.now() - older_than
    return list(
        Charge.objects.filter(
            status=ChargeStatus.CAPTURED,
            overage_seconds__gt=0,
            meter_reported_at__isnull=True,
            captured_at__lt=cutoff,
        )
        .exclude(workspace__subscription__stripe_customer_id="")
        .values_list("pk", flat=True)[:500]
    )
