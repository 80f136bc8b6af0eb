"""GET /billing/get-limits/ (as LALAL.AI answers it) and GET /api/v1/usage."""

import pytest

from billing import services
from separation import services as separation
from tests.billing.conftest import make_upload
from tests.factories import api_key_for


def spend(workspace, seconds, outcome="complete"):
    job = separation.create_job(workspace, make_upload(workspace, seconds), {})
    claimed = separation.claim_job(job.id, "w")
    assert claimed is not None
    if outcome == "complete":
        separation.complete_job(claimed)
    elif outcome == "fail":
        separation.fail_job(claimed, "boom")
    return job


def test_it_answers_get_limits_as_lalal_does(client, workspace, api_key, plans):
    services.assign_plan(workspace, plans["basic"])
    spend(workspace, 90)
    spend(workspace, 45, "fail")
    response = client.get("/billing/get-limits/", {"key": api_key})
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "option": "Basic",
        "email": "owner@example.com",
        "process_duration_limit": 60.0,
        "process_duration_used": 1.5,
        "process_duration_left": 58.5,
    }


def test_it_answers_license_not_found_for_an_unknown_key(client, db):
    for params in ({"key": "d539"}, {"key": "ss_abcd1234_forged"}, {}):
        response = client.get("/billing/get-limits/", params)
        assert response.json() == {"status": "error", "error": "License not found"}


def test_it_answers_license_not_found_for_a_deactivated_key(client, workspace):
    from accounts.services import deactivate_api_key

    key, raw = api_key_for(workspace)
    deactivate_api_key(key)
    assert client.get("/billing/get-limits/", {"key": raw}).json()["status"] == "error"


def test_it_reports_usage_in_the_api(api, workspace, plans):
    services.assign_plan(workspace, plans["basic"])
    spend(workspace, 90)
    running = separation.create_job(workspace, make_upload(workspace, 30), {})
    response = api.get("/api/v1/usage")
    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == {"slug": "basic", "name": "Basic"}
    assert body["status"] == "active"
    assert body["seconds"] == {
        "limit": 3600,
        "used": 90,
        "reserved": 30,
        "left": 3480,
        "overage": 0,
    }
    assert body["minutes"]["used"] == 1.5 and body["minutes"]["left"] == 58.0
    assert body["period"]["start"] < body["period"]["end"]
    assert sum(day["seconds"] for day in body["per_day"]) == 90
    assert running.status == "queued"


def test_it_shows_each_workspace_only_its_own_usage(
    client, workspace, outsider_workspace, outsider_key, plans
):
    services.assign_plan(workspace, plans["basic"])
    services.assign_plan(outsider_workspace, plans["premium"])  # the API is not on Free
    spend(workspace, 90)
    response = client.get("/api/v1/usage", HTTP_AUTHORIZATION=f"Bearer {outsider_key}")
    assert response.status_code == 200
    assert response.json()["seconds"]["used"] == 0
    assert response.json()["plan"]["slug"] == "premium"


def test_it_reports_usage_to_a_signed_in_user(client, owner):
    client.force_login(owner)
    assert client.get("/api/v1/usage").json()["plan"]["slug"] == "free"


def test_it_requires_authentication_for_usage(client, db):
    assert client.get("/api/v1/usage").status_code in (401, 403)


@pytest.mark.parametrize("path", ["/billing/get-limits/"])
def test_it_refuses_other_methods(client, db, path):
    assert client.post(path).status_code == 405
