import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import embedded_database


class Command(BaseCommand):
    help = (
        "Bring the database up to date. A new embedded SQLite database gets its tables from the models in "
        "seconds (config/embedded_database.py); any other database runs the ordinary `migrate`."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        if embedded_database.is_new_sqlite_database():
            count = embedded_database.build_from_models()
            self.stdout.write(
                f"Built the new embedded SQLite database from the models in {time.monotonic() - started:.1f} s "
                f"({count} migrations recorded as applied)."
            )
            return
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
