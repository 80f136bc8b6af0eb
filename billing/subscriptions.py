"""Subscribing, changing plan and mirroring Stripe's subscription state.

The workspace is the Stripe customer. Local state is only ever copied from a subscription as the
Stripe API returns it, so events may arrive late, twice or out of order: each one just makes us
read the current subscription again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from billing import stripe_client
from billing.models import LIVE_STATUSES, Plan, Subscription, SubscriptionStatus
from billing.services import _refuse, subscription_for

log = logging.getLogger(__name__)


def _when(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=UTC) if timestamp else None


def ensure_customer(workspace) -> str:
    sub = subscription_for(workspace)
    if sub.stripe_customer_id:
        return sub.stripe_customer_id
    owner = workspace.owner
    customer = stripe_client.create_customer(
        workspace_id=workspace.pk, name=workspace.name, email=owner.email if owner else None
    )
    with transaction.atomic():
        sub = subscription_for(workspace, lock=True)
        if not sub.stripe_customer_id:
            sub.stripe_customer_id = customer
            sub.save(update_fields=["stripe_customer_id", "updated_at"])
    return sub.stripe_customer_id


def has_live_stripe_subscription(sub: Subscription) -> bool:
    return (
        bool(sub.stripe_subscription_id)
        and sub.status in LIVE_STATUSES
        and sub.status != SubscriptionStatus.INCOMPLETE
    )


def change_plan(workspace, plan: Plan, *, success_url: str, cancel_url: str) -> str | None:
    """Move a workspace to `plan`. Returns a Stripe Checkout URL to send the browser to when a
    new subscription is needed, or None when the change is already done (a live subscription
    moved to the new prices, or a downgrade to Free scheduled for the end of the period)."""
    sub = subscription_for(workspace)
    if plan.is_custom:
        raise _refuse(
            f"The {plan.name} plan is arranged with us: contact us to set it up.",
            code="plan_not_self_serve",
            status=400,
        )
    if not stripe_client.configured():
        raise _refuse(
            "Payments are not configured on this server; an administrator assigns "
            "plans in the admin.",
            code="payments_not_configured",
            status=400,
        )
    live = has_live_stripe_subscription(sub)
    if plan.is_default:
        if live:
            sync_subscription(stripe_client.cancel_at_period_end(sub.stripe_subscription_id))
        return None
    if not plan.stripe_price_id:
        raise _refuse(
            f"The {plan.name} plan has no Stripe price yet.", code="plan_not_self_serve", status=400
        )
    if live:
        updated = stripe_client.change_subscription_price(
            sub.stripe_subscription_id,
            price=plan.stripe_price_id,
            metered_price=plan.stripe_metered_price_id,
            plan_slug=plan.slug,
        )
        sync_subscription(updated)
        return None
    customer = ensure_customer(workspace)
    return stripe_client.create_checkout_session(
        customer=customer,
        workspace_id=workspace.pk,
        plan_slug=plan.slug,
        price=plan.stripe_price_id,
        metered_price=plan.stripe_metered_price_id,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def portal_url(workspace, return_url: str) -> str:
    return stripe_client.create_portal_session(
        customer=ensure_customer(workspace), return_url=return_url
    )


def _plan_for_prices(data) -> Plan | None:
    prices = [item["price"]["id"] for item in (data.get("items") or {}).get("data", [])]
    for price in prices:
        plan = Plan.objects.filter(stripe_price_id=price).first()
        if plan:
            return plan
    for price in prices:
        plan = Plan.objects.filter(stripe_metered_price_id=price).first()
        if plan:
            return plan
    return None


def _period(data) -> tuple[datetime | None, datetime | None]:
    # Before API version 2025-03-31 the period is on the subscription; since then on each item.
    start, end = data.get("current_period_start"), data.get("current_period_end")
    if not start:
        items = (data.get("items") or {}).get("data") or [{}]
        start, end = items[0].get("current_period_start"), items[0].get("current_period_end")
    return _when(start), _when(end)


def _find_local(data, workspace) -> Subscription | None:
    if workspace is not None:
        return subscription_for(workspace)
    found = Subscription.objects.filter(stripe_subscription_id=data["id"]).first()
    if found is None and data.get("customer"):
        found = Subscription.objects.filter(stripe_customer_id=data["customer"]).first()
    workspace_id = (data.get("metadata") or {}).get("workspace_id")
    if found is None and workspace_id:
        from accounts.models import Workspace

        ws = Workspace.objects.filter(pk=workspace_id).first()
        found = subscription_for(ws) if ws else None
    return found


def sync_subscription(data, *, workspace=None) -> Subscription | None:
    """Copy a Stripe subscription (as the API returned it) onto its workspace.

    A subscription that ended does not overwrite a different, newer one; a live one replaces
    whatever was there. Raises LookupError for a live subscription whose prices match no plan.
    """
    local = _find_local(data, workspace)
    if local is None:
        log.warning(
            "Stripe subscription %s (customer %s) matches no workspace",
            data["id"],
            data.get("customer"),
        )
        return None
    status = data["status"]
    live = status in LIVE_STATUSES
    with transaction.atomic():
        local = Subscription.objects.select_for_update().select_related("plan").get(pk=local.pk)
        if local.stripe_subscription_id and local.stripe_subscription_id != data["id"] and not live:
            log.info(
                "ignoring ended subscription %s: workspace %s has %s",
                data["id"],
                local.workspace_id,
                local.stripe_subscription_id,
            )
            return local
        if live and status != SubscriptionStatus.INCOMPLETE:
            plan = _plan_for_prices(data)
            if plan is None:
                raise LookupError(
                    f"Stripe subscription {data['id']} has prices that match no plan."
                )
            local.plan = plan
            local.current_period_start, local.current_period_end = _period(data)
            local.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
        else:
            # Ended, or never paid for: back on the default plan, in calendar months.
            local.plan = Plan.objects.default()
            local.current_period_start = local.current_period_end = None
            local.cancel_at_period_end = False
        local.status = status
        local.stripe_subscription_id = data["id"]
        if data.get("customer"):
            local.stripe_customer_id = data["customer"]
        local.stripe_synced_at = timezone.now()
        local.save()
    log.info(
        "workspace %s: Stripe subscription %s is %s on %s",
        local.workspace_id,
        data["id"],
        status,
        local.plan.slug,
    )
    return local


def refresh_subscription(subscription_id: str, *, fallback=None, workspace=None):
    """Read the subscription from Stripe now and mirror it (`fallback`: the event's copy, used
    only when Stripe no longer knows the subscription)."""
    data = stripe_client.retrieve_subscription(subscription_id)
    if data is None:
        if fallback is None:
            return None
        data = dict(fallback, status=SubscriptionStatus.CANCELED)
    return sync_subscription(data, workspace=workspace)
