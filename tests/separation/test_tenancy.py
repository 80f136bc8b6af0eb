"""Another workspace's key never sees, changes or downloads this workspace's objects: 404."""

import pytest

from accounts.models import ApiKey
from separation import services
from separation.api import signing
from separation.models import Job, JobStatus
from tests.factories import api_key_for
from tests.separation.api_helpers import finished_job, stored_upload


@pytest.fixture
def job(workspace, tmp_path):
    return finished_job(workspace, tmp_path)


@pytest.fixture
def queued_job(workspace, tmp_path):
    upload = stored_upload(workspace, tmp_path, "queued.wav")
    return services.create_job(workspace, upload, {})


@pytest.fixture
def outsider_api(client, outsider_key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {outsider_key}"
    return client


def assert_not_found(response):
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_it_hides_a_separation_from_another_workspace(outsider_api, job):
    assert_not_found(outsider_api.get(f"/api/v1/separations/{job.id}"))


def test_it_does_not_list_another_workspaces_separations(outsider_api, job):
    page = outsider_api.get("/api/v1/separations").json()
    assert page["count"] == 0 and page["results"] == []
    checked = outsider_api.get(f"/api/v1/separations?ids={job.id}").json()
    assert checked["results"] == []


def test_it_does_not_let_another_workspace_cancel(outsider_api, queued_job):
    assert_not_found(outsider_api.post(f"/api/v1/separations/{queued_job.id}/cancel"))
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.QUEUED


def test_it_does_not_let_another_workspace_delete(outsider_api, job):
    assert_not_found(outsider_api.delete(f"/api/v1/separations/{job.id}"))
    assert Job.objects.filter(id=job.id).exists()
    assert all(output.file.storage.exists(output.file.name) for output in job.outputs.all())


def test_it_does_not_let_another_workspace_download_a_stem(outsider_api, job):
    assert_not_found(outsider_api.get(f"/api/v1/separations/{job.id}/stems/vocals"))
    assert_not_found(outsider_api.get(f"/api/v1/separations/{job.id}/stems/vocals?format=mp3"))
    assert not job.outputs.filter(format="mp3").exists()


def test_it_does_not_let_another_workspace_download_an_archive(outsider_api, job):
    assert_not_found(outsider_api.get(f"/api/v1/separations/{job.id}/archive"))


def test_it_does_not_let_another_workspace_separate_an_upload(outsider_api, workspace, tmp_path):
    upload = stored_upload(workspace, tmp_path)
    response = outsider_api.post(
        "/api/v1/separations", {"upload": upload.id}, content_type="application/json"
    )
    assert_not_found(response)
    assert not Job.objects.exists()


def test_it_does_not_let_another_workspace_deactivate_a_key(outsider_api, workspace):
    key, _ = api_key_for(workspace, name="mine")
    assert_not_found(outsider_api.delete(f"/api/v1/keys/{key.id}"))
    assert ApiKey.objects.get(id=key.id).is_active


def test_it_does_not_list_another_workspaces_keys(outsider_api, workspace):
    key, _ = api_key_for(workspace, name="mine")
    ids = [item["id"] for item in outsider_api.get("/api/v1/keys").json()]
    assert key.id not in ids


def test_it_does_not_let_a_signed_in_outsider_see_a_separation(client, outsider, job):
    client.force_login(outsider)
    assert_not_found(client.get(f"/api/v1/separations/{job.id}"))
    assert_not_found(client.get(f"/api/v1/separations/{job.id}/stems/vocals"))


def test_it_keeps_a_deactivated_keys_workspace_out(client, workspace, job):
    key, raw = api_key_for(workspace)
    ApiKey.objects.filter(id=key.id).update(is_active=False)
    response = client.get(f"/api/v1/separations/{job.id}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_it_opens_another_workspaces_file_only_with_a_link_signed_for_it(client, outsider_key, job):
    """A signed link is the one way in without the owner's credentials, and it names its job."""
    token = signing.make_token(job, "stem:vocals", "wav")
    response = client.get(
        f"/api/v1/separations/{job.id}/stems/vocals?format=wav&token={token}",
        HTTP_AUTHORIZATION=f"Bearer {outsider_key}",
    )
    assert response.status_code == 200
