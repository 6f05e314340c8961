"""A fast first build of the embedded SQLite database (`make run`), without weakening the real migrations.

Profiled on the 2-core machine (2026-12-01), `migrate` on a new SQLite file took 93 s, 88 s of them in two
dj-stripe migrations (`djstripe.0002_2_10`: 80 s, 514 RemoveField operations; `0001_initial`: 8 s). The time is
not SQLite's: cProfile puts 15 s in executing SQL and the rest in Django's migration state, which re-renders
dj-stripe's ~90 inter-related models after every operation. SQLite pragmas can only touch the 15 s, and the
same rendering is paid on PostgreSQL too.

A database with no table at all needs none of that history: its tables are created straight from the models
(what the test suite does with --nomigrations) and every migration is recorded as applied, in about 4 s.
From then on the ordinary `migrate` applies new migrations on top. A database that already has tables, and
PostgreSQL (where CI runs the real migrations, `make migrations-check`), always take the ordinary path.
"""

from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import override_settings


def is_new_sqlite_database(alias: str = "default") -> bool:
    connection = connections[alias]
    return connection.vendor == "sqlite" and not connection.introspection.table_names()


def build_from_models(alias: str = "default") -> int:
    """Creates every table from the current models and records every migration as applied; returns how many."""
    every_app_unmigrated = {app_config.label: None for app_config in apps.get_app_configs()}
    with override_settings(MIGRATION_MODULES=every_app_unmigrated):
        # Also emits post_migrate: content types and permissions exist as after a real migrate.
        call_command("migrate", database=alias, run_syncdb=True, interactive=False, verbosity=0)
    executor = MigrationExecutor(connections[alias])
    executor.recorder.ensure_schema()
    migrations = list(executor.loader.graph.nodes.values())
    for migration in migrations:
        executor.record_migration(migration)  # a squashed migration also records the ones it replaces
    return len(migrations)
