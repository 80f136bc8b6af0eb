"""Pricing and billing pages, Checkout, plan changes and the customer portal."""

import pytest

from billing import services
from billing.models import Subscription
from tests.billing.fake_stripe import subscription
from tests.factories import UserFactory, add_member


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_it_lists_the_plans_on_the_public_pricing_page(client, plans):
    response = client.get("/pricing/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Free", "Basic", "Premium", "Pro", "Custom"):
        assert f">{name}" in html
    assert "$9.00" in html and "Contact us" in html and "up to 300 MB" in html


def test_it_says_when_payments_are_not_configured(signed_in, no_stripe):
    html = signed_in.get("/billing/").content.decode()
    assert "Payments are not configured" in html
    assert "/billing/plan/basic/" not in html
    response = signed_in.post("/billing/plan/basic/", follow=True)
    assert "Payments are not configured" in response.content.decode()
    assert Subscription.objects.get().plan.slug == "free"


def test_it_shows_plan_minutes_and_days(signed_in, workspace, plans, no_stripe):
    services.assign_plan(workspace, plans["basic"])
    html = signed_in.get("/billing/").content.decode()
    assert "Plan: Basic" in html
    assert 'id="minutes-bar"' in html and 'id="usage-per-day"' in html
    assert "60.0 left of 60.0" in html
    response = signed_in.get("/billing/")
    chart = response.context["chart"]
    assert len(chart["labels"]) == len(chart["minutes"]) > 0
    assert 'id="usage-data"' in html and "chart.umd.min.js" in html


def test_it_sends_a_new_subscriber_to_stripe_checkout(signed_in, workspace, fake_stripe):
    response = signed_in.post("/billing/plan/premium/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.test/")
    session = fake_stripe.checkout_sessions[-1]
    assert session["client_reference_id"] == workspace.pk
    assert session["params"]["line_items[0][price]"] == "price_premium"
    assert session["params"]["line_items[1][price]"] == "price_premium_meter"
    customer = Subscription.objects.get(workspace=workspace).stripe_customer_id
    assert session["customer"] == customer
    assert fake_stripe.customers[customer]["metadata"]["workspace_id"] == workspace.pk
    signed_in.post("/billing/plan/basic/")
    assert len(fake_stripe.customers) == 1  # the workspace stays one customer


def test_it_moves_a_live_subscription_to_the_new_plan(signed_in, workspace, fake_stripe):
    from billing.subscriptions import ensure_customer, sync_subscription

    customer = ensure_customer(workspace)
    sub = fake_stripe.put_subscription(subscription(customer, "price_basic"))
    sync_subscription(sub)
    response = signed_in.post("/billing/plan/pro/", follow=True)
    assert "Your plan is now Pro" in response.content.decode()
    prices = {item["price"]["id"] for item in fake_stripe.subscriptions[sub["id"]]["items"]["data"]}
    assert prices == {"price_pro", "price_pro_meter"}
    assert services.plan_for(workspace).slug == "pro"
    signed_in.post("/billing/plan/free/")
    assert fake_stripe.subscriptions[sub["id"]]["cancel_at_period_end"] is True
    local = Subscription.objects.get(workspace=workspace)
    assert local.cancel_at_period_end and local.plan.slug == "pro"  # until the period ends


def test_it_opens_the_customer_portal(signed_in, workspace, fake_stripe):
    response = signed_in.post("/billing/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://billing.stripe.test/")


def test_it_lets_only_owners_and_admins_change_the_plan(client, workspace, fake_stripe):
    member = UserFactory()
    add_member(workspace, member)
    client.force_login(member)
    session = client.session
    session["workspace_id"] = workspace.pk
    session.save()
    assert client.post("/billing/plan/premium/").status_code == 403
    assert client.post("/billing/portal/").status_code == 403
    assert not fake_stripe.checkout_sessions


def test_it_requires_sign_in_for_the_billing_page(client, db):
    response = client.get("/billing/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_refuses_self_serve_custom_plans(signed_in, fake_stripe):
    response = signed_in.post("/billing/plan/custom/", follow=True)
    assert "contact us" in response.content.decode().lower()
    assert not fake_stripe.checkout_sessions
