"""Overage minutes reach Stripe's meter once per job, from a Celery task that retries."""

from datetime import timedelta

import pytest

from billing import services, tasks
from billing.models import Charge
from billing.subscriptions import ensure_customer
from separation import services as separation
from tests.billing.conftest import make_upload


@pytest.fixture
def premium(workspace, plans, fake_stripe):
    plans["premium"].included_seconds = 60
    plans["premium"].save()
    services.assign_plan(workspace, plans["premium"])
    return ensure_customer(workspace)


def finish(workspace, seconds):
    job = separation.create_job(workspace, make_upload(workspace, seconds), {})
    claimed = separation.claim_job(job.id, "w")
    assert claimed is not None
    separation.complete_job(claimed)
    return Charge.objects.get(job_ref=job.id)


def test_it_queues_the_meter_event_after_commit(
    workspace, premium, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[str] = []
    monkeypatch.setattr(tasks.report_overage, "delay", queued.append)
    monkeypatch.setattr(separation, "enqueue", lambda job_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        within = finish(workspace, 50)
        beyond = finish(workspace, 30)
    assert queued == [beyond.pk]
    assert (within.overage_seconds, beyond.overage_seconds) == (0, 20)


def test_it_sends_overage_with_the_job_id_as_identifier(workspace, premium, fake_stripe, settings):
    finish(workspace, 50)
    charge = finish(workspace, 45)
    assert tasks.report_overage.apply(args=(charge.pk,)).get() is True
    sent = fake_stripe.meter_events[charge.job_ref]
    assert sent["event_name"] == settings.STRIPE_METER_EVENT_NAME
    assert sent["payload[stripe_customer_id]"] == premium
    assert sent["payload[value]"] == "35"
    charge.refresh_from_db()
    assert charge.meter_reported_at is not None


def test_it_never_bills_a_repeat_twice(workspace, premium, fake_stripe):
    charge = finish(workspace, 90)
    tasks.report_overage.apply(args=(charge.pk,)).get()
    tasks.report_overage.apply(args=(charge.pk,)).get()
    assert len(fake_stripe.calls("POST", "/v1/billing/meter_events")) == 1
    # Reported to Stripe but not recorded here (a worker died in between): Stripe's duplicate
    # answer counts as done.
    Charge.objects.filter(pk=charge.pk).update(meter_reported_at=None)
    assert tasks.report_overage.apply(args=(charge.pk,)).get() is True
    assert len(fake_stripe.meter_events) == 1


def test_it_retries_when_stripe_is_down(workspace, premium, fake_stripe, settings):
    charge = finish(workspace, 90)
    fake_stripe.fail_next = 3  # the SDK's own 2 retries fail, then the task retries
    # Applied eagerly, Celery runs the retry at once instead of after the back-off.
    assert tasks.report_overage.apply(args=(charge.pk,)).get() is True
    assert len(fake_stripe.calls("POST", "/v1/billing/meter_events")) == 4
    assert list(fake_stripe.meter_events) == [charge.job_ref]
    charge.refresh_from_db()
    assert charge.meter_reported_at is not None and charge.meter_error == ""


def test_it_keeps_the_error_when_stripe_stays_down(workspace, premium, fake_stripe):
    charge = finish(workspace, 90)
    fake_stripe.fail_next = 3
    with pytest.raises(Exception, match="Fake outage"):
        services.report_overage(charge.pk)
    charge.refresh_from_db()
    assert charge.meter_reported_at is None and "Fake outage" in charge.meter_error
    assert charge.pk in services.unreported_overage(older_than=timedelta(0))


def test_it_sends_nothing_without_overage_or_stripe(workspace, plans, no_stripe):
    services.assign_plan(workspace, plans["premium"])
    charge = finish(workspace, 90)
    assert services.report_overage(charge.pk) is False
