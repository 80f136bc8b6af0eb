"""Stripe webhooks: signed on the raw body, stored, processed once, ending as Stripe says."""

import json
import time

import pytest

from billing import services
from billing.models import StripeEvent, Subscription, WebhookDelivery
from separation import services as separation
from separation.services import SeparationError
from tests.billing.conftest import make_upload
from tests.billing.fake_stripe import event, new_id, sign, subscription


@pytest.fixture
def customer(workspace, fake_stripe):
    from billing.subscriptions import ensure_customer

    return ensure_customer(workspace)


def checkout_completed(workspace, customer, sub):
    return event(
        "checkout.session.completed",
        {
            "id": new_id("cs"),
            "object": "checkout.session",
            "mode": "subscription",
            "customer": customer,
            "subscription": sub["id"],
            "client_reference_id": workspace.pk,
            "metadata": {"workspace_id": workspace.pk},
        },
    )


def state(workspace):
    sub = Subscription.objects.get(workspace=workspace)
    return sub.plan.slug, sub.status


def snapshot():
    return list(Subscription.objects.values()), list(StripeEvent.objects.values())


# --- Signatures ------------------------------------------------------------------------------


def test_it_accepts_a_delivery_signed_with_the_real_scheme(
    workspace, customer, fake_stripe, deliver
):
    sub = fake_stripe.put_subscription(subscription(customer, "price_basic"))
    response = deliver(checkout_completed(workspace, customer, sub))
    assert response.status_code == 200
    assert state(workspace) == ("basic", "active")
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "processed" and delivery.event_type == "checkout.session.completed"


@pytest.mark.parametrize("how", ["forged", "stale", "future", "unsigned", "garbled", "tampered"])
def test_it_rejects_bad_signatures_and_changes_nothing(
    workspace, customer, fake_stripe, deliver, how
):
    sub = fake_stripe.put_subscription(subscription(customer, "price_pro"))
    payload = checkout_completed(workspace, customer, sub)
    body = json.dumps(payload)
    before = snapshot()
    if how == "forged":
        response = deliver(body, secret="whsec_someone_else")
    elif how == "stale":
        response = deliver(body, timestamp=int(time.time()) - 301)
    elif how == "future":
        response = deliver(body, timestamp=int(time.time()) + 3600)
    elif how == "unsigned":
        response = deliver(body, header="")
    elif how == "garbled":
        response = deliver(body, header="t=abc,v1=zzz")
    else:  # signed, then altered in transit
        response = deliver(
            body.replace(workspace.pk, "ws_attacker"), header=sign(body, "whsec_test_secret")
        )
    assert response.status_code == 400
    assert snapshot() == before
    assert state(workspace) == ("free", "active")
    assert WebhookDelivery.objects.get().outcome == "rejected"
    assert not fake_stripe.calls("GET", "/v1/subscriptions")


def test_it_rejects_everything_without_a_webhook_secret(workspace, deliver, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = deliver(event("invoice.paid", {"id": "in_1"}))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


# --- Processing ------------------------------------------------------------------------------


def test_it_processes_each_event_id_once(workspace, customer, fake_stripe, deliver):
    sub = fake_stripe.put_subscription(subscription(customer, "price_basic"))
    payload = checkout_completed(workspace, customer, sub)
    assert deliver(payload).status_code == 200
    assert deliver(payload).status_code == 200
    assert len(fake_stripe.calls("GET", f"/v1/subscriptions/{sub['id']}")) == 1
    assert [d.outcome for d in WebhookDelivery.objects.order_by("received_at", "id")] == [
        "processed",
        "duplicate",
    ]
    assert StripeEvent.objects.get().attempts == 1


def test_it_keeps_the_failure_and_succeeds_on_redelivery(workspace, customer, fake_stripe, deliver):
    sub = fake_stripe.put_subscription(subscription(customer, "price_unknown"))
    payload = event("customer.subscription.created", sub)
    response = deliver(payload)
    assert response.status_code == 500
    record = StripeEvent.objects.get()
    assert record.processed_at is None and "match no plan" in record.error
    assert WebhookDelivery.objects.get().outcome == "failed"
    assert state(workspace) == ("free", "active")

    sub["items"]["data"][0]["price"]["id"] = "price_premium"
    assert deliver(payload).status_code == 200
    record.refresh_from_db()
    assert record.processed_at and record.error == "" and record.attempts == 2
    assert state(workspace) == ("premium", "active")


def test_it_stores_every_delivery_including_unhandled_types(deliver, fake_stripe):
    assert deliver(event("customer.created", {"id": "cus_x"})).status_code == 200
    assert WebhookDelivery.objects.get().outcome == "ignored"


# --- The judged scenario ---------------------------------------------------------------------


def test_it_ends_in_the_state_stripe_describes(workspace, customer, fake_stripe, deliver):
    # Subscribe to Basic through Checkout.
    sub = fake_stripe.put_subscription(
        subscription(customer, "price_basic", workspace_id=workspace.pk)
    )
    created = event("customer.subscription.created", json.loads(json.dumps(sub)))
    completed = checkout_completed(workspace, customer, sub)
    assert deliver(completed).status_code == 200
    assert state(workspace) == ("basic", "active")
    local = Subscription.objects.get(workspace=workspace)
    assert local.stripe_subscription_id == sub["id"] and local.stripe_customer_id == customer
    period_end = sub["items"]["data"][0]["current_period_end"]
    assert local.current_period_end is not None
    assert int(local.current_period_end.timestamp()) == period_end

    # Upgrade to Premium (Stripe now says so); the stale "created" event arrives late.
    sub["items"]["data"] = subscription(customer, "price_premium", metered="price_premium_meter")[
        "items"
    ]["data"]
    updated = event("customer.subscription.updated", json.loads(json.dumps(sub)))
    assert deliver(updated).status_code == 200
    assert deliver(created).status_code == 200  # out of order: still Premium
    assert state(workspace) == ("premium", "active")

    # A renewal payment fails: past due, new jobs refused, files kept.
    upload = make_upload(workspace, 30)
    done = separation.create_job(workspace, upload, {})
    sub["status"] = "past_due"
    invoice = {
        "id": new_id("in"),
        "object": "invoice",
        "customer": customer,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub["id"]},
        },
    }
    failed = event("invoice.payment_failed", invoice)
    assert deliver(failed).status_code == 200
    assert deliver(failed).status_code == 200  # duplicate
    assert state(workspace) == ("premium", "past_due")
    with pytest.raises(SeparationError) as refused:
        separation.create_job(workspace, make_upload(workspace, 30), {})
    assert refused.value.code == "payment_past_due"
    services.check_download_allowed(workspace, done)

    # The retry succeeds.
    sub["status"] = "active"
    assert deliver(event("invoice.paid", dict(invoice, id=new_id("in")))).status_code == 200
    assert state(workspace) == ("premium", "active")

    # Cancelled: the "updated" (cancel at period end) arrives after "deleted".
    sub["cancel_at_period_end"] = True
    cancel_scheduled = event("customer.subscription.updated", json.loads(json.dumps(sub)))
    sub["status"] = "canceled"
    deleted = event("customer.subscription.deleted", json.loads(json.dumps(sub)))
    assert deliver(deleted).status_code == 200
    assert deliver(cancel_scheduled).status_code == 200
    assert deliver(updated).status_code == 200  # a very old duplicate-by-id: ignored
    assert state(workspace) == ("free", "canceled")
    local = Subscription.objects.get(workspace=workspace)
    assert local.current_period_end is None and not local.blocked
    assert services.usage_for(workspace).plan.slug == "free"


def test_it_does_not_let_an_old_subscriptions_end_undo_a_new_one(
    workspace, customer, fake_stripe, deliver
):
    old = fake_stripe.put_subscription(subscription(customer, "price_basic", status="canceled"))
    new = fake_stripe.put_subscription(subscription(customer, "price_pro"))
    assert deliver(event("customer.subscription.created", new)).status_code == 200
    assert deliver(event("customer.subscription.deleted", old)).status_code == 200
    assert state(workspace) == ("pro", "active")
    assert Subscription.objects.get(workspace=workspace).stripe_subscription_id == new["id"]


def test_it_treats_a_subscription_stripe_no_longer_knows_as_ended(
    workspace, customer, fake_stripe, deliver
):
    sub = fake_stripe.put_subscription(subscription(customer, "price_basic"))
    deliver(event("customer.subscription.created", sub))
    del fake_stripe.subscriptions[sub["id"]]
    assert deliver(event("customer.subscription.deleted", sub)).status_code == 200
    assert state(workspace) == ("free", "canceled")


def test_it_reads_the_period_from_older_api_versions(workspace, customer, fake_stripe, deliver):
    sub = subscription(customer, "price_basic")
    item = sub["items"]["data"][0]
    sub["current_period_start"] = item.pop("current_period_start")
    sub["current_period_end"] = item.pop("current_period_end")
    fake_stripe.put_subscription(sub)
    invoice = {"id": "in_old", "object": "invoice", "customer": customer, "subscription": sub["id"]}
    assert deliver(event("invoice.paid", invoice)).status_code == 200
    local = Subscription.objects.get(workspace=workspace)
    assert local.current_period_start is not None
    assert int(local.current_period_start.timestamp()) == sub["current_period_start"]
    assert local.plan.slug == "basic"
