"""`manage.py create_api_key EMAIL [--name NAME]`: print a new key for scripts and operators."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import create_api_key, create_personal_workspace


class Command(BaseCommand):
    help = "Create an API key in the user's default workspace and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="E-mail address of an existing user")
        parser.add_argument("--name", default="Default", help="A name to recognise the key by")

    def handle(self, *args, email: str, name: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email!r}.")
        if not user.is_active:
            raise CommandError(f"The user {user.email} is inactive.")
        workspace = user.default_workspace() or create_personal_workspace(user)
        key, raw = create_api_key(workspace, name=name, created_by=user)
        self.stderr.write(
            f"Created key {key.id} ({key.name!r}) in workspace {workspace.name!r}. "
            "It is shown only once:"
        )
        self.stdout.write(raw)
