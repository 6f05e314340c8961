"""config/embedded_database.py builds a new SQLite database from the models and records every migration as
applied without running it. That equals the real migrations only while the project's migrations change the
schema alone: a data migration (RunPython, RunSQL) would be silently skipped on the demo database."""

from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from config.migration_operations import BackfillExistingRows

ROOT = Path(__file__).resolve().parents[2]
NOT_SCHEMA = (migrations.RunPython, migrations.RunSQL)


def operations(operation):
    yield operation
    for nested in (*getattr(operation, "database_operations", ()), *getattr(operation, "state_operations", ())):
        yield from operations(nested)


def test_the_projects_migrations_hold_no_data_step_the_fast_build_would_skip():
    ours = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and "site-packages" not in Path(config.path).parts
    }
    with override_settings(MIGRATION_MODULES={}):  # the suite runs with --nomigrations: read them from disk
        loader = MigrationLoader(None, ignore_no_migrations=True)
    assert ours & {label for label, _name in loader.disk_migrations}, "no migration of the project's apps was found"

    data_steps = [
        f"{label}.{name}: {type(operation).__name__}"
        for (label, name), migration in loader.disk_migrations.items()
        if label in ours
        for top in migration.operations
        for operation in operations(top)
        # A backfill rewrites existing rows only: a new database has none to rewrite.
        if isinstance(operation, NOT_SCHEMA) and not isinstance(operation, BackfillExistingRows)
    ]

    assert not data_steps, (
        "config/embedded_database.py records these as applied without running them; run them there too: "
        + ", ".join(data_steps)
    )
