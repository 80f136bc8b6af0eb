import pytest
from django.conf import settings

from tests.factories import UserFactory, api_key_for


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Every test writes its files to its own temporary media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media")}},
    }
    yield


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com")


@pytest.fixture
def workspace(owner):
    return owner.default_workspace()


@pytest.fixture
def outsider(db):
    return UserFactory(email="outsider@example.com")


@pytest.fixture
def outsider_workspace(outsider):
    return outsider.default_workspace()


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
