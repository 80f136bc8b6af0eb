"""Create the first admin account if there is none (used by `make run`)."""

import os
import secrets

from django.core.management.base import BaseCommand

from accounts.models import User


class Command(BaseCommand):
    help = "Create an admin account (ADMIN_EMAIL / ADMIN_PASSWORD) if no superuser exists."

    def handle(self, *args, **options):
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account already exists.")
            return
        email = os.environ.get("ADMIN_EMAIL", "admin@example.com")
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin account created: {email} / {password}  "
                "(log in at /admin/ or /accounts/login/)"
            )
        )
