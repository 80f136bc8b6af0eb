"""Plan limits where they apply: uploads, job submission, API access and rate, downloads."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from billing import services
from billing.api.views import UsageView
from billing.throttling import PlanRateThrottle
from separation import services as separation
from separation.models import Job
from separation.services import SeparationError
from tests.billing.conftest import make_upload

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def refused(call, *args, **kwargs) -> SeparationError:
    with pytest.raises(SeparationError) as info:
        call(*args, **kwargs)
    return info.value


def test_it_refuses_an_upload_over_the_plan_size_naming_the_plan_that_lifts_it(workspace, plans):
    services.check_upload_allowed(workspace, 20 * MB)
    error = refused(services.check_upload_allowed, workspace, 20 * MB + 1)
    assert error.status == 413 and error.code == "file_too_large"
    assert "Free plan accepts files up to 20 MB" in error.message
    assert "Basic plan allows files up to 30 MB" in error.message
    error = refused(services.check_upload_allowed, workspace, 41 * MB)
    assert "Pro plan allows files up to 75 MB" in error.message


@pytest.mark.parametrize(
    "slug,limit_mb", [("basic", 30), ("premium", 40), ("pro", 75), ("custom", 300)]
)
def test_it_applies_each_plans_upload_size(workspace, plans, slug, limit_mb):
    services.assign_plan(workspace, plans[slug])
    services.check_upload_allowed(workspace, limit_mb * MB)
    assert refused(services.check_upload_allowed, workspace, limit_mb * MB + 1).status == 413


def test_it_refuses_a_file_longer_than_the_plan_allows(workspace):
    error = refused(separation.create_job, workspace, make_upload(workspace, 601), {})
    assert error.code == "file_too_long" and "10 minutes" in error.message
    assert not Job.objects.exists()


def test_it_refuses_a_model_or_format_outside_the_plan(workspace, plans):
    upload = make_upload(workspace, 30)
    error = refused(separation.create_job, workspace, upload, {"model": "spleeter:2stems-16kHz"})
    assert error.status == 403 and error.code == "model_not_in_plan"
    assert "Premium" in error.message
    error = refused(separation.create_job, workspace, upload, {"format": "flac"})
    assert error.status == 403 and error.code == "format_not_in_plan"
    services.assign_plan(workspace, plans["premium"])
    separation.create_job(workspace, upload, {"model": "spleeter:2stems-16kHz", "format": "flac"})


def test_it_limits_concurrent_jobs(workspace):
    separation.create_job(workspace, make_upload(workspace, 10), {})
    error = refused(separation.create_job, workspace, make_upload(workspace, 10), {})
    assert error.status == 429 and error.code == "too_many_concurrent_jobs"
    assert error.extra["retry_after"] > 0
    assert services.usage_for(workspace).reserved_seconds == 10


def test_it_tells_api_clients_when_to_retry_a_refused_concurrent_job(client, workspace, plans):
    from tests.factories import api_key_for

    services.assign_plan(workspace, plans["basic"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key_for(workspace)[1]}"
    limit = plans["basic"].concurrent_jobs
    responses = [
        client.post(
            "/api/v1/separations",
            {"upload": make_upload(workspace, 10).id},
            content_type="application/json",
        )
        for _ in range(limit + 1)
    ]
    assert [r.status_code for r in responses[:limit]] == [202] * limit
    refused_response = responses[-1]
    assert refused_response.status_code == 429
    body = refused_response.json()["error"]
    assert body["code"] == "too_many_concurrent_jobs"
    assert int(refused_response["Retry-After"]) > 0
    assert Job.objects.filter(workspace=workspace).count() == limit


def test_it_refuses_api_access_on_free(workspace, plans):
    error = refused(services.check_api_access, workspace)
    assert error.status == 403 and "Basic" in error.message
    services.assign_plan(workspace, plans["basic"])
    assert services.check_api_access(workspace).slug == "basic"


class ThrottledUsage(UsageView):
    throttle_classes = [PlanRateThrottle]


def call(raw_key):
    request = APIRequestFactory().get("/api/v1/usage", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return ThrottledUsage.as_view()(request)


def test_it_throttles_api_keys_at_the_plans_rate_with_retry_after(workspace, api_key, plans):
    plans["basic"].api_requests_per_minute = 3
    plans["basic"].save()
    services.assign_plan(workspace, plans["basic"])
    assert [call(api_key).status_code for _ in range(3)] == [200, 200, 200]
    response = call(api_key)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.data["error"]["code"] == "rate_limited"
    assert "Basic plan allows 3 API requests a minute" in response.data["error"]["message"]


def test_it_refuses_api_keys_of_plans_without_api_access(api_key):
    response = call(api_key)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "api_not_in_plan"


def test_it_counts_the_rate_per_workspace(
    workspace, api_key, outsider_workspace, outsider_key, plans
):
    plans["basic"].api_requests_per_minute = 1
    plans["basic"].save()
    services.assign_plan(workspace, plans["basic"])
    services.assign_plan(outsider_workspace, plans["basic"])
    assert call(api_key).status_code == 200
    assert call(outsider_key).status_code == 200
    assert call(api_key).status_code == 429


def test_it_keeps_files_downloadable_within_retention(workspace, plans):
    job = separation.create_job(workspace, make_upload(workspace, 10), {})
    services.check_download_allowed(workspace, job, "wav")
    assert refused(services.check_download_allowed, workspace, job, "flac").status == 403
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=2))
    job.refresh_from_db()
    assert refused(services.check_download_allowed, workspace, job).status == 410
    services.assign_plan(workspace, plans["basic"])
    services.check_download_allowed(workspace, job, "flac")
