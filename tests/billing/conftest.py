import json

import pytest

from billing.catalog import seed_plans
from billing.models import Plan
from separation.models import Upload
from tests.billing.fake_stripe import FakeStripe, sign

WEBHOOK_SECRET = "whsec_test_secret"
PRICES = {
    "basic": ("price_basic", ""),
    "premium": ("price_premium", "price_premium_meter"),
    "pro": ("price_pro", "price_pro_meter"),
}


@pytest.fixture(autouse=True)
def plans(db):
    """The seeded plans (re-created if a transactional test flushed them), with Stripe prices."""
    seed_plans(Plan)
    for slug, (price, metered) in PRICES.items():
        Plan.objects.filter(slug=slug).update(
            stripe_price_id=price, stripe_metered_price_id=metered
        )
    return {plan.slug: plan for plan in Plan.objects.all()}


@pytest.fixture
def fake_stripe(settings):
    """A local fake Stripe API that the real SDK talks to over HTTP, plus webhook signing."""
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_fake"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield fake


@pytest.fixture
def no_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture
def deliver(client):
    """POST a Stripe event to the webhook, signed with the real scheme unless told otherwise."""

    def post(event, *, secret=WEBHOOK_SECRET, timestamp=None, header=None):
        body = event if isinstance(event, str) else json.dumps(event)
        signature = header if header is not None else sign(body, secret, timestamp)
        return client.post(
            "/billing/stripe/webhook/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    return post


def make_upload(workspace, seconds: float = 60, size: int = 1_000_000) -> Upload:
    return Upload.objects.create(
        workspace=workspace,
        filename="song.wav",
        file=f"{workspace.pk}/uploads/song.wav",
        size=size,
        duration_ms=int(seconds * 1000),
        sample_rate=44100,
        channels=2,
        container="wav",
        codec="pcm_s16le",
    )


@pytest.fixture
def workspace(owner, plans):
    """Billing tests start from what a new sign-up gets: the Free plan."""
    return owner.default_workspace()


@pytest.fixture
def outsider_workspace(outsider, plans):
    return outsider.default_workspace()
