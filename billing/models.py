"""Plans, each workspace's subscription, the minutes ledger and the Stripe deliveries.

Minutes are counted in whole seconds and money in integer cents throughout.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from lib.ids import random_id

MB = 1024 * 1024


def new_charge_id() -> str:
    return random_id("chg")


class PlanQuerySet(models.QuerySet["Plan"]):
    def public(self):
        return self.filter(is_public=True).order_by("position", "price_cents")

    def default(self) -> Plan:
        """The plan a workspace is on without a subscription (Free)."""
        plan = self.filter(is_default=True).order_by("position").first()
        if plan is None:
            from billing.catalog import seed_plans

            seed_plans(Plan)
            plan = self.get(is_default=True)
        return plan


class Plan(models.Model):
    """What a workspace may do and what it pays. Edited in the admin; seeded by migration 0002."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the pricing page")
    is_public = models.BooleanField(default=True, help_text="Shown on the pricing page")
    is_default = models.BooleanField(default=False, help_text="The plan without a subscription")
    is_custom = models.BooleanField(
        default=False,
        help_text="Arranged with sales, set in the admin; no self-serve checkout",
    )
    price_cents = models.PositiveIntegerField(default=0, help_text="Monthly price in cents")
    currency = models.CharField(max_length=3, default="usd")
    included_seconds = models.PositiveIntegerField(help_text="Seconds of audio included per month")
    overage_allowed = models.BooleanField(default=False)
    overage_cents_per_minute = models.PositiveIntegerField(default=0)
    max_upload_bytes = models.PositiveBigIntegerField()
    max_file_seconds = models.PositiveIntegerField(
        help_text="Longest audio file accepted, in seconds"
    )
    concurrent_jobs = models.PositiveSmallIntegerField(default=1)
    allowed_models = models.JSONField(default=list, blank=True, help_text="Empty: every model")
    allowed_formats = models.JSONField(default=list, blank=True, help_text="Empty: every format")
    api_access = models.BooleanField(default=False)
    api_requests_per_minute = models.PositiveIntegerField(default=0)
    retention_days = models.PositiveSmallIntegerField(default=7)
    stripe_price_id = models.CharField(
        max_length=100, blank=True, help_text="Monthly subscription price"
    )
    stripe_metered_price_id = models.CharField(
        max_length=100, blank=True, help_text="Metered price billed from the overage meter"
    )

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["position", "price_cents"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_plan"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def included_minutes(self) -> int:
        return self.included_seconds // 60

    @property
    def max_upload_mb(self) -> int:
        return self.max_upload_bytes // MB

    @property
    def price(self) -> str:
        return f"{self.price_cents // 100}.{self.price_cents % 100:02d}"

    @property
    def self_serve(self) -> bool:
        return bool(self.stripe_price_id) and not self.is_custom

    def allows_model(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models

    def allows_format(self, fmt: str) -> bool:
        return not self.allowed_formats or fmt in self.allowed_formats


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses, mirrored as Stripe reports them (never set by hand).

    A workspace without a Stripe subscription is `active` on its plan (Free, or one assigned in
    the admin). Jobs are refused while the status is past_due, unpaid or incomplete.
    """

    ACTIVE = "active", "Active"
    TRIALING = "trialing", "Trialing"
    PAST_DUE = "past_due", "Past due"
    UNPAID = "unpaid", "Unpaid"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    CANCELED = "canceled", "Canceled"
    PAUSED = "paused", "Paused"


LIVE_STATUSES = {
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.UNPAID,
    SubscriptionStatus.INCOMPLETE,
    SubscriptionStatus.PAUSED,
}
BLOCKED_STATUSES = {
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.UNPAID,
    SubscriptionStatus.INCOMPLETE,
    SubscriptionStatus.PAUSED,
}


class Subscription(models.Model):
    """A workspace's plan and Stripe state. Also the row locked (SELECT … FOR UPDATE) whenever
    the workspace's minutes change, so that two submissions never spend the same minutes."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="subscription"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(
        max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True, db_index=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace} on {self.plan} ({self.status})"

    @property
    def blocked(self) -> bool:
        return self.status in BLOCKED_STATUSES


class UsagePeriod(models.Model):
    """One workspace's minutes for one billing period: the sums of its charges."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="usage_periods")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reserved_seconds = models.PositiveBigIntegerField(default=0)
    used_seconds = models.PositiveBigIntegerField(default=0)
    overage_seconds = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "start"], name="one_usage_period_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


class ChargeStatus(models.TextChoices):
    """reserved -> captured (job completed) | reserved -> released (job failed or cancelled).

    Each transition is a conditional UPDATE in billing.services, so a repeat changes nothing.
    """

    RESERVED = "reserved", "Reserved"
    CAPTURED = "captured", "Captured"
    RELEASED = "released", "Released"


class Charge(models.Model):
    """The minutes of one job: at most one per job, whatever happens to the job afterwards."""

    id = models.CharField(primary_key=True, max_length=32, default=new_charge_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="charges")
    period = models.ForeignKey(UsagePeriod, on_delete=models.PROTECT, related_name="charges")
    # The job may be deleted later; its minutes stay spent, so its id is kept as well.
    job = models.ForeignKey(
        "separation.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="charges"
    )
    job_ref = models.CharField(max_length=32, unique=True)
    seconds = models.PositiveIntegerField()
    overage_seconds = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.RESERVED, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    captured_at = models.DateTimeField(null=True, blank=True, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    meter_reported_at = models.DateTimeField(null=True, blank=True)
    meter_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.job_ref} {self.seconds}s {self.status}"


class WebhookDelivery(models.Model):
    """Every POST to the Stripe webhook, valid or not, as it arrived."""

    class Outcome(models.TextChoices):
        REJECTED = "rejected", "Rejected (signature)"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        IGNORED = "ignored", "Ignored (type not handled)"
        FAILED = "failed", "Failed"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    event_id = models.CharField(max_length=100, blank=True, db_index=True)
    event_type = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    signature = models.CharField(max_length=1000, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type or '?'} {self.event_id or '-'} {self.outcome}"


class StripeEvent(models.Model):
    """One Stripe event id, processed at most once (`processed_at` set in the same transaction)."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event")
    data = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
