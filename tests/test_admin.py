"""Every model's admin list and change pages render for a superuser."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_it_renders_every_registered_admin_list(client, workspace):
    staff = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, url
