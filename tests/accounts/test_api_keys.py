import pytest

from accounts.models import ApiKey
from tests.factories import UserFactory, add_member, api_key_for


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_it_creates_a_key_and_shows_it_once(api, client, workspace, api_key):
    response = api.post("/api/v1/keys", {"name": "ci"}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {
        "id",
        "name",
        "key",
        "masked",
        "is_active",
        "calls_count",
        "last_used_at",
        "created_at",
    }
    assert body["name"] == "ci"
    assert body["is_active"] is True
    assert body["calls_count"] == 0
    raw = body["key"]
    assert raw.startswith("ss_")
    assert "•" in body["masked"] and raw not in body["masked"]

    stored = ApiKey.objects.get(id=body["id"])
    assert stored.workspace == workspace
    assert raw not in (stored.lookup, stored.hashed)
    # The new key works on its own.
    listing = client.get("/api/v1/keys", **auth(raw))
    assert listing.status_code == 200
    # ... and the raw key never appears again.
    assert raw not in listing.content.decode()


def test_it_names_a_key_default_when_no_name_is_given(api):
    response = api.post("/api/v1/keys", {}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["name"] == "Default"


def test_it_lists_only_the_workspaces_keys_masked(api, workspace, outsider_workspace):
    api_key_for(workspace, name="second")
    api_key_for(outsider_workspace, name="theirs")
    response = api.get("/api/v1/keys")
    assert response.status_code == 200
    names = sorted(item["name"] for item in response.json())
    assert names == ["second", "test"]
    for item in response.json():
        assert item["key"].endswith("•" * 8)
        assert set(item) == {
            "id",
            "name",
            "key",
            "is_active",
            "calls_count",
            "last_used_at",
            "created_at",
        }


def test_it_counts_calls_and_records_last_use(api):
    api.get("/api/v1/keys")
    response = api.get("/api/v1/keys")
    (item,) = response.json()
    assert item["calls_count"] == 2
    assert item["last_used_at"] is not None


def test_it_deactivates_a_key(api, client, workspace):
    key, raw = api_key_for(workspace, name="to go")
    response = api.delete(f"/api/v1/keys/{key.id}")
    assert response.status_code == 204
    key.refresh_from_db()
    assert key.is_active is False
    refused = client.get("/api/v1/keys", **auth(raw))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    listed = {item["id"]: item for item in api.get("/api/v1/keys").json()}
    assert listed[key.id]["is_active"] is False


def test_it_answers_404_for_another_workspaces_key(client, api_key, outsider_workspace):
    theirs, _ = api_key_for(outsider_workspace)
    response = client.delete(f"/api/v1/keys/{theirs.id}", **auth(api_key))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.is_active is True


def test_it_answers_404_for_an_unknown_key_id(api):
    response = api.delete("/api/v1/keys/key_doesnotexist")
    assert response.status_code == 404


def test_it_rejects_unknown_fields_naming_them(api):
    response = api.post(
        "/api/v1/keys", {"name": "x", "scope": "all"}, content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "scope" in error["message"]


def test_it_rejects_a_blank_name(api):
    response = api.post("/api/v1/keys", {"name": "  "}, content_type="application/json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["message"]


def test_it_requires_a_key_or_a_session(client, db):
    response = client.get("/api/v1/keys")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    bad = client.get("/api/v1/keys", HTTP_AUTHORIZATION="Bearer ss_nothing_here")
    assert bad.status_code == 401


def test_it_lets_a_signed_in_member_manage_keys_with_the_session(client, workspace):
    member = UserFactory(email="member@example.com")
    add_member(workspace, member)
    # The member's own personal workspace comes first; pick the shared one.
    client.force_login(member)
    session = client.session
    session["workspace_id"] = workspace.id
    session.save()
    response = client.post(
        "/api/v1/keys", {"name": "from the browser"}, content_type="application/json"
    )
    assert response.status_code == 201
    assert ApiKey.objects.get(id=response.json()["id"]).workspace == workspace


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer a b"])
def test_it_rejects_a_malformed_authorization_header(client, db, header):
    response = client.get("/api/v1/keys", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
