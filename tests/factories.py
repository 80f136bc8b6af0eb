"""Model factories. A user gets a personal workspace from the post_save signal."""

import factory

from accounts.models import Membership, User, Workspace
from accounts.services import create_api_key


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


def add_member(workspace, user, role=Membership.Role.MEMBER):
    return Membership.objects.create(workspace=workspace, user=user, role=role)


def api_key_for(workspace, name="test"):
    """(ApiKey, raw key string)."""
    return create_api_key(workspace, name=name)
