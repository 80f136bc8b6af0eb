"""Users, workspaces (the tenants), memberships and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from lib.ids import new_key_id, new_workspace_id


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address. Owns nothing itself: workspaces do."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def default_workspace(self) -> Workspace | None:
        membership = self.memberships.select_related("workspace").order_by("created_at").first()
        return membership.workspace if membership else None


class Workspace(models.Model):
    """The tenant: uploads, jobs, files, keys and billing all belong to one workspace."""

    id = models.CharField(primary_key=True, max_length=32, default=new_workspace_id, editable=False)
    name = models.CharField(max_length=100)
    personal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @property
    def owner(self):
        membership = self.memberships.filter(role=Membership.Role.OWNER).select_related("user")
        first = membership.order_by("created_at").first()
        return first.user if first else None


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


KEY_PREFIX = "ss_"


def hash_secret(secret: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def authenticate(self, raw: str) -> ApiKey | None:
        """The active key that `raw` is, or None. Compares the HMAC in constant time."""
        if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
            return None
        lookup = raw[len(KEY_PREFIX) :].split("_", 1)[0]
        expected = hash_secret(raw)
        for key in self.filter(lookup=lookup, is_active=True).select_related("workspace"):
            if hmac.compare_digest(key.hashed, expected):
                return key
        return None


class ApiKey(models.Model):
    """A workspace's API key. Only a lookup prefix and an HMAC of the full key are stored."""

    id = models.CharField(primary_key=True, max_length=32, default=new_key_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=100, default="Default")
    lookup = models.CharField(max_length=16, db_index=True)
    hashed = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    calls_count = models.PositiveBigIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ApiKeyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"{KEY_PREFIX}{self.lookup}_" + "•" * 8

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new raw key and its lookup part."""
        lookup = secrets.token_hex(4)
        return f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}", lookup
