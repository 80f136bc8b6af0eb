import pytest

from tests.factories import UserFactory, api_key_for


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Every test writes its files to its own temporary media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    # In-process jobs run inside the test's transaction: no heartbeat thread writing beside it.
    settings.JOB_HEARTBEAT_SECONDS = 3600
    yield


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com")


def on_plan(workspace, slug: str):
    """Put `workspace` on a seeded plan (re-seeding if a transactional test flushed them)."""
    from billing.catalog import seed_plans
    from billing.models import Plan
    from billing.services import assign_plan

    seed_plans(Plan)
    assign_plan(workspace, Plan.objects.get(slug=slug))
    return workspace


@pytest.fixture
def workspace(owner):
    """The owner's workspace, on the Custom plan: features are tested apart from plan limits
    (tests/billing checks the limits)."""
    return on_plan(owner.default_workspace(), "custom")


@pytest.fixture
def outsider(db):
    return UserFactory(email="outsider@example.com")


@pytest.fixture
def outsider_workspace(outsider):
    return on_plan(outsider.default_workspace(), "custom")


@pytest.fixture
def api_key(workspace):
    return api_key_for(workspace)[1]


@pytest.fixture
def outsider_key(outsider_workspace):
    return api_key_for(outsider_workspace)[1]


@pytest.fixture
def api(client, api_key):
    """A Django test client that sends the owner's API key."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return client


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start a real Celery worker process (real broker, the test database); yields it."""
    from tests.worker import WorkerProcess

    worker = WorkerProcess(tmp_path / "worker.log")
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
        print(f"--- worker log (tail) ---\n{worker.log()[-4000:]}")  # shown when a test fails
