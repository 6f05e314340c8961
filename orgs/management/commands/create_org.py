from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orgs import services
from orgs.errors import DomainError
from orgs.models import Plan, Role


class Command(BaseCommand):
    help = (
        "Create an organization; with --admin-key NAME also its first admin API key, printed alone as the "
        "last line (the one command a new deployment needs before it can call the API)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--plan", default=Plan.FREE, choices=Plan.values)
        parser.add_argument("--admin-key", metavar="KEY_NAME", default="", help="Also create an admin API key.")

    def handle(self, *args, slug, name, plan, admin_key, **options):
        try:
            # Both or neither: a failed key leaves no organization behind to trip the next attempt.
            with transaction.atomic():
                organization = services.create_organization(slug=slug, name=name, plan=plan)
                created_key = (
                    services.create_api_key(organization=organization, name=admin_key, role=Role.ADMIN)
                    if admin_key
                    else None
                )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        except DomainError as exc:
            raise CommandError("; ".join(exc.messages())) from exc
        self.stdout.write(f"Created organization {organization.slug} ({organization.plan}).")
        if created_key is not None:
            api_key, full_key = created_key
            self.stdout.write(f"Created admin key {api_key.masked} for {organization.slug}. It is shown once:")
            self.stdout.write(full_key)
