"""The minutes ledger: reserved on acceptance, captured on completion, released otherwise."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services
from billing.models import Charge, ChargeStatus, UsagePeriod
from separation import services as separation
from separation.models import Job
from separation.services import SeparationError
from tests.billing.conftest import make_upload


def submit(workspace, seconds, **request):
    return separation.create_job(workspace, make_upload(workspace, seconds), request)


def run(job, outcome="complete"):
    claimed = separation.claim_job(job.id, "worker-1")
    assert claimed is not None
    if outcome == "complete":
        separation.complete_job(claimed)
    else:
        separation.fail_job(claimed, "decoder crashed")
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def pro(workspace, plans):
    services.assign_plan(workspace, plans["pro"])
    return plans["pro"]


def test_it_reserves_the_jobs_seconds_on_acceptance(workspace):
    job = submit(workspace, 42.3)
    usage = services.usage_for(workspace)
    assert job.billed_seconds == 43
    assert (usage.reserved_seconds, usage.used_seconds) == (43, 0)
    assert usage.left_seconds == 600 - 43
    assert Charge.objects.get(job_ref=job.id).status == ChargeStatus.RESERVED


def test_it_adds_up_completed_failed_and_cancelled_jobs_to_the_second(workspace, pro):
    completed = [submit(workspace, 61.2), submit(workspace, 30), submit(workspace, 125.001)]
    failed = submit(workspace, 200)
    cancelled_queued = submit(workspace, 77)
    for job in completed:
        run(job)
    run(failed, "fail")
    separation.cancel_job(cancelled_queued)
    running = submit(workspace, 50)
    separation.claim_job(running.id, "worker-1")
    separation.cancel_job(Job.objects.get(pk=running.pk))
    section = separation.create_job(
        workspace, make_upload(workspace, 300), {"section": {"start": 100, "duration": 45.5}}
    )
    run(section)

    usage = services.usage_for(workspace)
    assert usage.used_seconds == 62 + 30 + 126 + 46
    assert usage.reserved_seconds == 0
    assert usage.left_seconds == 600 * 60 - 264
    assert sum(seconds for _, seconds in usage.per_day) == 264
    period = UsagePeriod.objects.get(workspace=workspace)
    captured = Charge.objects.filter(period=period, status=ChargeStatus.CAPTURED)
    assert sum(c.seconds for c in captured) == period.used_seconds == 264
    assert Charge.objects.filter(status=ChargeStatus.RELEASED).count() == 3


def test_it_never_charges_a_job_twice(workspace, pro):
    job = submit(workspace, 90)
    services.reserve_minutes(job)  # a repeated acceptance
    job = run(job)
    services.capture_minutes(job)  # a repeated completion
    services.release_minutes(job)  # a late failure report changes nothing either
    assert Charge.objects.filter(job_ref=job.id).count() == 1
    usage = services.usage_for(workspace)
    assert (usage.used_seconds, usage.reserved_seconds) == (90, 0)


def test_it_keeps_one_reservation_when_a_lost_worker_is_retried(workspace, pro, settings):
    job = submit(workspace, 90)
    separation.claim_job(job.id, "worker-1")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert separation.requeue_stale_jobs() == [job.id]
    run(job)
    usage = services.usage_for(workspace)
    assert (usage.used_seconds, usage.reserved_seconds) == (90, 0)


def test_it_refuses_a_job_beyond_the_minutes_left_with_the_numbers(workspace, plans):
    plans["free"].concurrent_jobs = 3
    plans["free"].save()
    run(submit(workspace, 500))
    submit(workspace, 60)  # queued: its minutes are reserved
    with pytest.raises(SeparationError) as refused:
        submit(workspace, 41)
    error = refused.value
    assert error.status == 402 and error.code == "insufficient_minutes"
    assert (
        error.extra["limit"],
        error.extra["used"],
        error.extra["reserved"],
        error.extra["left"],
        error.extra["requested"],
    ) == (600, 500, 60, 40, 41)
    assert "Free" in error.message and "Basic plan allows 60 minutes" in error.message
    submit(workspace, 40)  # exactly what is left still fits


def test_it_refuses_at_submission_and_stores_no_job(workspace):
    run(submit(workspace, 590))
    with pytest.raises(SeparationError) as refused:
        submit(workspace, 11)
    assert refused.value.status == 402
    assert refused.value.extra["left"] == 10
    assert Job.objects.filter(workspace=workspace).count() == 1
    assert Charge.objects.filter(workspace=workspace).count() == 1


def test_it_lets_overage_plans_go_past_the_included_minutes(workspace, plans):
    plans["premium"].included_seconds = 100
    plans["premium"].save()
    services.assign_plan(workspace, plans["premium"])
    first = run(submit(workspace, 80))
    second = run(submit(workspace, 50))
    third = run(submit(workspace, 10))
    charges = {c.job_ref: c.overage_seconds for c in Charge.objects.all()}
    assert charges == {first.id: 0, second.id: 30, third.id: 10}
    usage = services.usage_for(workspace)
    assert (usage.used_seconds, usage.overage_seconds, usage.left_seconds) == (140, 40, 0)


def test_it_keeps_minutes_spent_when_the_job_is_deleted(workspace, pro):
    job = run(submit(workspace, 90))
    separation.delete_job(job)
    assert services.usage_for(workspace).used_seconds == 90


def test_it_refuses_new_jobs_while_a_payment_is_past_due(workspace, pro):
    done = run(submit(workspace, 30))
    sub = services.subscription_for(workspace)
    sub.status = "past_due"
    sub.save()
    with pytest.raises(SeparationError) as refused:
        submit(workspace, 30)
    assert refused.value.status == 402 and refused.value.code == "payment_past_due"
    assert "existing files stay" in refused.value.message
    services.check_download_allowed(workspace, done, "wav")  # files stay downloadable


def test_it_counts_each_workspace_separately(workspace, outsider_workspace, pro):
    run(submit(workspace, 100))
    assert services.usage_for(outsider_workspace).used_seconds == 0


def test_it_starts_a_fresh_period_each_month(workspace, pro):
    run(submit(workspace, 100))
    next_month = services.usage_for(workspace).period_end + timedelta(days=1)
    assert services.usage_for(workspace, now=next_month).used_seconds == 0
