"""Every call to the Stripe API goes through here, with the official SDK.

`STRIPE_API_BASE` points the SDK elsewhere (the tests' local fake Stripe server). Without
`STRIPE_SECRET_KEY` payments are not configured: callers check `configured()` first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, SubscriptionModifyParamsItem
    from stripe.params.checkout import SessionCreateParamsLineItem

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"


class StripeNotConfigured(Exception):
    pass


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def webhooks_configured() -> bool:
    return bool(settings.STRIPE_WEBHOOK_SECRET)


def _setup() -> None:
    if not configured():
        raise StripeNotConfigured("Payments are not configured (STRIPE_SECRET_KEY is empty).")
    # Module-level SDK settings, re-applied on every call so that settings overrides (tests)
    # take effect; the values are the same in every thread of a process.
    stripe.api_key = settings.STRIPE_SECRET_KEY
    stripe.api_base = settings.STRIPE_API_BASE or DEFAULT_API_BASE
    stripe.max_network_retries = 2


def create_customer(*, workspace_id: str, name: str, email: str | None) -> str:
    _setup()
    params: CustomerCreateParams = {
        "name": name,
        "metadata": {"workspace_id": workspace_id},
        "idempotency_key": f"customer-{workspace_id}",
    }
    if email:  # without one, no email is sent at all
        params["email"] = email
    customer = stripe.Customer.create(**params)
    return customer["id"]


def create_checkout_session(
    *,
    customer: str,
    workspace_id: str,
    plan_slug: str,
    price: str,
    metered_price: str,
    success_url: str,
    cancel_url: str,
) -> str:
    """A Checkout Session for a new subscription; returns the URL to send the browser to."""
    _setup()
    line_items: list[SessionCreateParamsLineItem] = [{"price": price, "quantity": 1}]
    if metered_price:
        line_items.append({"price": metered_price})
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer,
        client_reference_id=workspace_id,
        line_items=line_items,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"workspace_id": workspace_id, "plan": plan_slug},
        subscription_data={"metadata": {"workspace_id": workspace_id, "plan": plan_slug}},
    )
    return session["url"]


def create_portal_session(*, customer: str, return_url: str) -> str:
    _setup()
    session = stripe.billing_portal.Session.create(customer=customer, return_url=return_url)
    return session["url"]


def retrieve_subscription(subscription_id: str):
    """The subscription as Stripe has it now, or None if Stripe does not know it."""
    _setup()
    try:
        return stripe.Subscription.retrieve(subscription_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise


def change_subscription_price(
    subscription_id: str, *, price: str, metered_price: str, plan_slug: str
):
    """Move a live subscription to other prices (prorated); returns the updated subscription."""
    _setup()
    current = stripe.Subscription.retrieve(subscription_id)
    items: list[SubscriptionModifyParamsItem] = [
        {"id": item["id"], "deleted": True} for item in current["items"]["data"]
    ]
    items.append({"price": price, "quantity": 1})
    if metered_price:
        items.append({"price": metered_price})
    return stripe.Subscription.modify(
        subscription_id,
        items=items,
        proration_behavior="create_prorations",
        cancel_at_period_end=False,
        metadata={"plan": plan_slug},
    )


def cancel_at_period_end(subscription_id: str):
    _setup()
    return stripe.Subscription.modify(subscription_id, cancel_at_period_end=True)


def send_meter_event(*, customer: str, seconds: int, identifier: str, timestamp: int) -> None:
    """One overage meter event. Stripe drops a repeat with the same identifier (the job id)."""
    _setup()
    stripe.billing.MeterEvent.create(
        event_name=settings.STRIPE_METER_EVENT_NAME,
        payload={"stripe_customer_id": customer, "value": str(seconds)},
        identifier=identifier,
        timestamp=timestamp,
    )
