"""The verbs of the accounts context, called by pages, the API and commands alike."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ApiKey, Membership, User, Workspace, hash_secret


@transaction.atomic
def create_personal_workspace(user: User) -> Workspace:
    """Give `user` a workspace of their own, owned by them. Idempotent."""
    existing = Workspace.objects.filter(personal=True, memberships__user=user).first()
    if existing:
        return existing
    name = (user.name or user.email.split("@")[0])[:80] + "'s workspace"
    workspace = Workspace.objects.create(name=name, personal=True)
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


def create_api_key(
    workspace: Workspace, name: str = "Default", created_by: User | None = None
) -> tuple[ApiKey, str]:
    """A new active key; the raw key is returned once and never stored."""
    raw, lookup = ApiKey.generate()
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name or "Default",
        created_by=created_by,
        lookup=lookup,
        hashed=hash_secret(raw),
    )
    return key, raw


def deactivate_api_key(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)
    key.is_active = False


def record_api_key_use(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(
        calls_count=F("calls_count") + 1, last_used_at=timezone.now()
    )


def workspace_for_user(user: User, workspace_id: str | None = None) -> Workspace | None:
    """The workspace `user` acts in: the one asked for if they are a member, else their first."""
    if workspace_id:
        membership = (
            user.memberships.select_related("workspace").filter(workspace_id=workspace_id).first()
        )
        if membership:
            return membership.workspace
    return user.default_workspace()
