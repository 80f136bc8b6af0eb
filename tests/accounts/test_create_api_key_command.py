from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey


def test_it_prints_a_working_key_for_the_users_workspace(owner, workspace, client):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "Owner@Example.com", "--name", "scripts", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("ss_")
    key = ApiKey.objects.get(workspace=workspace, name="scripts")
    assert key.created_by == owner
    assert ApiKey.objects.authenticate(raw) == key
    assert "shown only once" in err.getvalue()
    response = client.get("/api/v1/keys", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_it_fails_clearly_for_an_unknown_email(db):
    with pytest.raises(CommandError, match="nobody@example.com"):
        call_command("create_api_key", "nobody@example.com", stdout=StringIO())
    assert ApiKey.objects.count() == 0
