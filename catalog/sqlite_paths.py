"""Where an organization's SQLite warehouse files may lie: `<allowed dir>/<org-slug>/`, its own and nobody else's.

`DATAXPIPE_SQLITE_ALLOWED_DIRS` names the operator's warehouse directories; each organization owns the
sub-directory named after its slug in each of them. A connection's path is taken relative to the
organization's directory in the first allowed directory, or, absolute, must lie inside one of the
organization's directories. The real path counts (symlinks followed), so a link in org A's directory
that points into org B's, or out of the tree, is refused; so is the catalog's own database, even
through a hard link. Checked when a connection is stored (a 400 naming the rule) and again before
every execution, because files and links change after registration.
"""

import os
import re

from django.conf import settings

_SLUG = re.compile(r"[A-Za-z0-9_\-]+")


class SqlitePathRefused(ValueError):
    """The path breaks a rule; the message says which and is safe to show."""


def allowed_dirs() -> list[str]:
    return [os.path.realpath(directory) for directory in settings.DATAXPIPE_SQLITE_ALLOWED_DIRS if directory]


def _inside(path: str, directory: str) -> bool:
    return os.path.commonpath([path, directory]) == directory


def organization_dirs(organization) -> list[str]:
    """The organization's directory in each allowed directory (real paths; they need not exist yet)."""
    slug = organization.slug
    if not _SLUG.fullmatch(slug):
        raise SqlitePathRefused("SQLite warehouses are not available to this organization (its slug is not plain).")
    directories = allowed_dirs()
    if not directories:
        raise SqlitePathRefused("No directory is allowed for SQLite warehouses (DATAXPIPE_SQLITE_ALLOWED_DIRS).")
    for first in directories:
        # Nested allowed directories would put one organization's directory inside another's.
        if any(other != first and _inside(other, first) for other in directories):
            raise SqlitePathRefused("DATAXPIPE_SQLITE_ALLOWED_DIRS must not nest; SQLite warehouses are disabled.")
    return [os.path.realpath(os.path.join(directory, slug)) for directory in directories]


def _catalog_database_paths() -> set[str]:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return set()
    names = {str(database["NAME"])}
    test_name = (database.get("TEST") or {}).get("NAME")
    if test_name:
        names.add(str(test_name))
    paths = set()
    for name in names:
        if name and name != ":memory:" and not name.startswith("file:"):
            real = os.path.realpath(name)
            paths.update({real, f"{real}-wal", f"{real}-shm", f"{real}-journal"})
    return paths


def _same_file(first: str, second: str) -> bool:
    # Catches a hard link to the catalog's file under an allowed directory.
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def resolve(raw_path, organization) -> str:
    """The real path of `organization`'s sqlite file `raw_path`, or SqlitePathRefused."""
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise SqlitePathRefused("A sqlite connection needs a path.")
    if raw_path.startswith("file:") or raw_path == ":memory:" or "\x00" in raw_path:
        raise SqlitePathRefused("A sqlite connection's path must be a file path, not a URI or :memory:.")
    own = organization_dirs(organization)
    path = raw_path if os.path.isabs(raw_path) else os.path.join(own[0], raw_path)
    real = os.path.realpath(path)
    if not any(_inside(real, directory) and real != directory for directory in own):
        raise SqlitePathRefused(
            f"The sqlite path must lie inside the organization's own directory, <allowed dir>/{organization.slug}/ "
            "(a relative path is taken from there; symlinks are followed); this one is outside it."
        )
    catalog_paths = _catalog_database_paths()
    if real in catalog_paths or any(_same_file(real, other) for other in catalog_paths):
        raise SqlitePathRefused("The sqlite path is the catalog's own database, which checks can never open.")
    return real
