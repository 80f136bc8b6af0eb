"""Stripe webhook deliveries: verified on the raw body, stored, each event id processed once.

A delivery whose signature is missing, wrong, too old or dated in the future is stored as
rejected and changes nothing else. A valid event runs its handler inside a transaction; if the
handler raises, its changes roll back, the error is kept on the event and Stripe is answered 500
so that it delivers again.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import subscriptions
from billing.models import StripeEvent, WebhookDelivery
from billing.services import subscription_for

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300


class InvalidDelivery(Exception):
    pass


def verify(body: bytes, header: str) -> dict:
    """The event in a delivery whose Stripe-Signature is valid and recent; else InvalidDelivery."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidDelivery(
            "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty)."
        )
    if not header:
        raise InvalidDelivery("Missing Stripe-Signature header.")
    try:
        stripe.Webhook.construct_event(body, header, secret, tolerance=TOLERANCE_SECONDS)
        timestamp = int(dict(part.split("=", 1) for part in header.split(",") if "=" in part)["t"])
    except (stripe.SignatureVerificationError, ValueError, KeyError) as exc:
        raise InvalidDelivery(f"Invalid signature: {exc}") from None
    if timestamp > time.time() + TOLERANCE_SECONDS:
        raise InvalidDelivery("Invalid signature: timestamp is in the future.")
    event = json.loads(body)
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidDelivery("Not a Stripe event.")
    return event


def receive(body: bytes, header: str, remote_addr: str | None = None) -> tuple[int, str]:
    """Handle one delivery; returns the HTTP status and a short message for Stripe."""
    text = body.decode("utf-8", errors="replace")
    try:
        event = verify(body, header)
    except InvalidDelivery as exc:
        WebhookDelivery.objects.create(
            body=text[:65536],
            signature=header[:1000],
            remote_addr=remote_addr,
            outcome=WebhookDelivery.Outcome.REJECTED,
            error=str(exc),
        )
        log.warning("rejected Stripe webhook delivery from %s: %s", remote_addr, exc)
        return 400, str(exc)
    # Stored before processing, outside its transaction: a failing handler cannot erase it.
    delivery = WebhookDelivery.objects.create(
        event_id=event["id"],
        event_type=event["type"],
        body=text,
        signature=header[:1000],
        remote_addr=remote_addr,
        outcome=WebhookDelivery.Outcome.FAILED,
    )
    outcome, error = process(event)
    delivery.outcome, delivery.error = outcome, error
    delivery.save(update_fields=["outcome", "error"])
    if outcome == WebhookDelivery.Outcome.FAILED:
        return 500, "Processing failed; it will be retried."
    return 200, outcome


def process(event: dict) -> tuple[str, str]:
    """Run the event's handler unless this event id was processed before."""
    Outcome = WebhookDelivery.Outcome
    with transaction.atomic():
        record, _ = StripeEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={
                "type": event["type"],
                "data": event,
                "created": datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC),
            },
        )
        record = StripeEvent.objects.select_for_update().get(pk=record.pk)
        if record.processed_at:
            return Outcome.DUPLICATE, ""
        record.attempts += 1
        handler = HANDLERS.get(event["type"])
        if handler is None:
            record.processed_at = timezone.now()
            record.save(update_fields=["attempts", "processed_at"])
            return Outcome.IGNORED, ""
        try:
            with transaction.atomic():
                handler(event["data"]["object"])
        except Exception:
            error = traceback.format_exc(limit=5)
            log.exception("Stripe event %s (%s) failed", event["id"], event["type"])
            record.error = error
            record.save(update_fields=["attempts", "error"])
            return Outcome.FAILED, error
        record.processed_at = timezone.now()
        record.error = ""
        record.save(update_fields=["attempts", "processed_at", "error"])
    return Outcome.PROCESSED, ""


# --- Handlers: each reads the current state from Stripe --------------------------------------


def on_checkout_completed(session) -> None:
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return
    from accounts.models import Workspace

    workspace_id = session.get("client_reference_id") or (session.get("metadata") or {}).get(
        "workspace_id"
    )
    workspace = Workspace.objects.filter(pk=workspace_id).first() if workspace_id else None
    if workspace is None:
        log.warning("checkout session %s names no known workspace", session.get("id"))
        return
    sub = subscription_for(workspace)
    if session.get("customer") and sub.stripe_customer_id != session["customer"]:
        sub.stripe_customer_id = session["customer"]
        sub.save(update_fields=["stripe_customer_id", "updated_at"])
    subscriptions.refresh_subscription(session["subscription"], workspace=workspace)


def on_subscription_changed(subscription) -> None:
    subscriptions.refresh_subscription(subscription["id"], fallback=subscription)


def _invoice_subscription(invoice) -> str | None:
    # API versions before 2025-03-31 put it on the invoice; later ones under parent.
    if invoice.get("subscription"):
        value = invoice["subscription"]
        return value if isinstance(value, str) else value.get("id")
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def on_invoice(invoice) -> None:
    subscription_id = _invoice_subscription(invoice)
    if subscription_id:
        subscriptions.refresh_subscription(subscription_id)


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "invoice.paid": on_invoice,
    "invoice.payment_failed": on_invoice,
}
