"""Whether the catalog database lacks migrations this code needs: a deployment whose release step has not run.

Until it has, `/ready` answers 503 "migrations pending", and a request that meets a missing table or column
answers 503 `migrations_pending` (API) or a plain 503 page (admin) instead of a misleading "database
unavailable" or a 500. Once a process has seen the database fully migrated it stops asking: a later release
ships new code, hence new processes, and old code never needs the migrations that come after it.
"""

from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

RELEASE_STEP = "python manage.py migrate"
_fully_migrated: set[str] = set()


def pending(alias: str = "default") -> list[str]:
    """The migrations not applied yet, as "app.name" (raises DatabaseError when the database cannot answer)."""
    if alias in _fully_migrated:
        return []
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    if not names:
        _fully_migrated.add(alias)
    return names


def explains(exc: BaseException, alias: str = "default") -> list[str]:
    """The pending migrations when they may explain a database error (a missing table, say); else []."""
    if not isinstance(exc, DatabaseError) or alias in _fully_migrated:
        return []
    try:
        return pending(alias)
    except DatabaseError:
        # The database cannot answer even this (unreachable, or an aborted transaction): not for us to say.
        return []


def summary(names: list[str]) -> str:
    count = len(names)
    return (
        f"The catalog database is missing {count} migration{'s' if count != 1 else ''} this version needs: "
        f"apply them with the release step ({RELEASE_STEP}), then retry."
    )
