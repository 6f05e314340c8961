from django.core.management.base import BaseCommand, CommandError

from orgs.models import Organization
from workflows import retention


class Command(BaseCommand):
    help = (
        "Purge runs, check results, check executions, stored OpenLineage events and settled alerts older than each "
        "organization's plan history window (what the hourly beat task does), and print the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG", help="only this organization")
        parser.add_argument("--dry-run", action="store_true", help="count what would be purged, delete nothing")

    def handle(self, *args, **options):
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization with the slug {options['organization']!r}.")
            outcomes = [retention.purge_organization(organization, dry_run=options["dry_run"])]
        else:
            outcomes = retention.purge_history(dry_run=options["dry_run"])
        verb = "would purge" if options["dry_run"] else "purged"
        for outcome in outcomes:
            if outcome.cutoff is None:
                self.stdout.write(f"{outcome.organization}: plan keeps all history, nothing to purge")
                continue
            counts = ", ".join(f"{kind} {count}" for kind, count in outcome.counts.items())
            self.stdout.write(f"{outcome.organization}: {verb} {counts} (before {outcome.cutoff.isoformat()})")
        self.stdout.write(f"total {verb}: {sum(outcome.total for outcome in outcomes)} rows")
