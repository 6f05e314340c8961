import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from orgs import services
from orgs.models import Organization, Plan, Role
from workflows.demo import catalog as catalog_demo
from workflows.demo import checks as checks_demo
from workflows.demo import lineage as lineage_demo

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "demo"
# In this order: the checks attach results to the catalog's runs; lineage reports a job of its own.
DEMO_SEEDERS = [catalog_demo.seed, checks_demo.seed, lineage_demo.seed]


class Command(BaseCommand):
    help = "Create (or top up) the demo organization and print a fresh admin API key for it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-user",
            action="store_true",
            help="Also create the staff user 'admin' (password from DATAXPIPE_DEMO_ADMIN_PASSWORD, default 'admin').",
        )

    def handle(self, *args, admin_user, **options):
        with transaction.atomic():
            organization = Organization.objects.filter(slug=DEMO_SLUG).first()
            if organization is None:
                organization = services.create_organization(slug=DEMO_SLUG, name="Demo Org", plan=Plan.TEAM)
            for seed in DEMO_SEEDERS:
                seed(organization, self.stdout)
            # The previous demo key was shown once and is superseded: revoking it keeps repeated runs
            # from piling keys up to the plan's key limit.
            services.revoke_api_keys(organization.api_keys.filter(name=DEMO_KEY_NAME))
            _api_key, full_key = services.create_api_key(organization=organization, name=DEMO_KEY_NAME, role=Role.ADMIN)
        if admin_user:
            self._ensure_admin_user(organization)
        self.stdout.write(f"Demo organization '{organization.slug}' is ready. Its admin API key (shown once):")
        self.stdout.write(full_key)

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
