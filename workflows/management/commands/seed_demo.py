import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orgs import services
from orgs.models import ApiKey, Organization, Plan, Role
from workflows.demo import catalog as catalog_demo
from workflows.demo import checks as checks_demo
from workflows.demo import lineage as lineage_demo

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = (
        "Create the demo organization (or leave it as it is) and its admin API key. Running it again keeps "
        "the existing demo key valid and touches none of the organization's other data; --new-key replaces the key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-user",
            action="store_true",
            help="Also create the staff user 'admin' (password from DATAXPIPE_DEMO_ADMIN_PASSWORD, default 'admin').",
        )
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="Revoke the demo organization's 'demo' keys and print a new one (for a demo key that was lost).",
        )

    def handle(self, *args, admin_user, new_key, **options):
        with transaction.atomic():
            organization = Organization.objects.filter(slug=DEMO_SLUG).first()
            if organization is None:
                organization = services.create_organization(slug=DEMO_SLUG, name="Demo Org", plan=Plan.TEAM)
            # Check results attach only to the runs this very call created: never to runs a user posted.
            new_runs = catalog_demo.seed(organization, self.stdout)
            checks_demo.seed(organization, self.stdout, new_runs=new_runs)
            lineage_demo.seed(organization, self.stdout)
            demo_keys = ApiKey.objects.for_organization(organization).filter(name=DEMO_KEY_NAME)
            if new_key:
                services.revoke_api_keys(demo_keys)
            existing = _usable_key(demo_keys)
            full_key = None
            if existing is None:
                _api_key, full_key = services.create_api_key(
                    organization=organization, name=DEMO_KEY_NAME, role=Role.ADMIN
                )
        if admin_user:
            self._ensure_admin_user(organization)
        if full_key is None:
            self._explain_kept_key(organization, existing)
        else:
            self.stdout.write(f"Demo organization '{organization.slug}' is ready. Its admin API key (shown once):")
            self.stdout.write(full_key)

    def _explain_kept_key(self, organization, api_key):
        # Only the key's digest is stored, so it cannot be printed again; keeping it valid is what
        # matters to anything already configured with it (a revoked demo key was the old behaviour).
        self.stdout.write(
            f"Demo organization '{organization.slug}' is ready. Its admin API key {api_key.masked} "
            f"(created {api_key.created_at:%Y-%m-%d %H:%M} UTC) still works. It was shown once, when it was "
            "created, and only its digest is stored, so it cannot be shown again."
        )
        command = f"{_interpreter()} manage.py seed_demo --new-key"
        self.stdout.write(f"Lost it? This revokes it and prints a new one: {command}")

    def _ensure_admin_user(self, organization):
        user_model = get_user_model()
        password = os.environ.get("DATAXPIPE_DEMO_ADMIN_PASSWORD", "admin")
        user, created = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.save()
            self.stdout.write("Created staff user 'admin' for /admin/ (password from DATAXPIPE_DEMO_ADMIN_PASSWORD).")
        services.add_member(organization=organization, user=user, role=Role.ADMIN)


def _usable_key(demo_keys) -> ApiKey | None:
    now = timezone.now()
    for api_key in demo_keys.filter(revoked_at__isnull=True).order_by("-created_at", "-id"):
        if api_key.expires_at is None or api_key.expires_at > now:
            return api_key
    return None


def _interpreter() -> str:
    """How this command was started, so the suggested command can be pasted as it is (`make run` uses .venv)."""
    relative = os.path.relpath(sys.executable)
    return relative if not relative.startswith("..") else "python"
