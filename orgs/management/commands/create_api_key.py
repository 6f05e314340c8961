from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orgs import services
from orgs.errors import DomainError
from orgs.models import Organization, Role


class Command(BaseCommand):
    help = "Create an API key for an organization; the key alone is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("key_name")
        parser.add_argument("--role", default=Role.WRITE, choices=Role.values)

    def handle(self, *args, org_slug, key_name, role, **options):
        organization = Organization.objects.filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        try:
            api_key, full_key = services.create_api_key(organization=organization, name=key_name, role=role)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except DomainError as exc:  # the plan limit: its message, not a dict's repr
            raise CommandError("; ".join(exc.messages())) from exc
        self.stdout.write(f"Created {api_key.role} key {api_key.masked} for {organization.slug}. It is shown once:")
        self.stdout.write(full_key)
