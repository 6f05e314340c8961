from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orgs import services
from orgs.models import Plan


class Command(BaseCommand):
    help = "Create an organization."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--plan", default=Plan.FREE, choices=Plan.values)

    def handle(self, *args, slug, name, plan, **options):
        try:
            organization = services.create_organization(slug=slug, name=name, plan=plan)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"Created organization {organization.slug} ({organization.plan}).")
