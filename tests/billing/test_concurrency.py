"""Two parallel submissions can never both spend the last minutes.

Real threads with their own database connections submit at the same time. On PostgreSQL the
workspace's Subscription row lock (SELECT … FOR UPDATE) is what serialises them; SQLite has no row
locks (its single writer would hide a missing lock), so there the test is skipped.
"""

import threading

import pytest
from django.db import connection, connections

from billing import services
from billing.models import Charge, ChargeStatus
from separation import services as separation
from separation.models import Job
from separation.services import SeparationError
from tests.billing.conftest import make_upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks (set DATABASE_URL=postgres://…); SQLite serialises "
        "every writer, so it cannot show that the lock is taken",
    ),
]


def race(count, target):
    barrier = threading.Barrier(count)
    results = []

    def run(index):
        try:
            barrier.wait()
            results.append(target(index))
        except SeparationError as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def quiet_queue(monkeypatch):
    monkeypatch.setattr(separation, "enqueue", lambda job_id: None)


def test_it_lets_only_one_of_two_parallel_jobs_spend_the_last_minutes(
    workspace, plans, quiet_queue
):
    plans["free"].concurrent_jobs = 10
    plans["free"].save()
    done = separation.create_job(workspace, make_upload(workspace, 540), {})
    claimed = separation.claim_job(done.id, "w")
    assert claimed is not None
    separation.complete_job(claimed)
    uploads = [make_upload(workspace, 60) for _ in range(2)]  # 60 s left: room for one

    results = race(2, lambda i: separation.create_job(workspace, uploads[i], {}))

    accepted = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, SeparationError)]
    assert len(accepted) == 1 and len(refused) == 1
    assert refused[0].code == "insufficient_minutes" and refused[0].extra["left"] == 0
    usage = services.usage_for(workspace)
    assert (usage.used_seconds, usage.reserved_seconds, usage.left_seconds) == (540, 60, 0)
    assert Charge.objects.filter(status=ChargeStatus.RESERVED).count() == 1


def test_it_keeps_the_ledger_exact_under_many_parallel_submissions(workspace, plans, quiet_queue):
    plans["basic"].concurrent_jobs = 20
    plans["basic"].included_seconds = 300
    plans["basic"].save()
    services.assign_plan(workspace, plans["basic"])
    uploads = [make_upload(workspace, 45) for _ in range(8)]  # 8 × 45 s > 300 s

    results = race(8, lambda i: separation.create_job(workspace, uploads[i], {}))

    accepted = [r for r in results if isinstance(r, Job)]
    assert len(accepted) == 6  # 6 × 45 = 270 ≤ 300 < 7 × 45
    usage = services.usage_for(workspace)
    assert (
        usage.reserved_seconds
        == 270
        == sum(
            Charge.objects.filter(status=ChargeStatus.RESERVED).values_list("seconds", flat=True)
        )
    )

    # Completing and cancelling them in parallel adds up as well.
    def finish(i):
        job = accepted[i]
        if i % 2:
            return separation.cancel_job(job)
        claimed = separation.claim_job(job.id, f"w{i}")
        assert claimed is not None
        return separation.complete_job(claimed)

    race(len(accepted), finish)
    usage = services.usage_for(workspace)
    assert (usage.used_seconds, usage.reserved_seconds) == (135, 0)
