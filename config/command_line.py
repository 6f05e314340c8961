"""manage.py's entry point: a missing setting or an unusable database is a clear message, not a traceback.

`--traceback` still shows the traceback. Any other error is a bug and keeps Django's traceback.
"""

import os
import shlex
import sys

# Commands that work without the project's settings (Django prints their help itself).
_NEEDS_NO_SETTINGS = {None, "help", "--help", "-h", "version", "--version"}
# Required only with DEBUG off; a developer on the embedded database wants DEBUG on instead.
_PRODUCTION_ONLY = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django  # noqa: F401
    except ImportError:
        _stop(
            f"Django is not installed for this Python ({sys.executable}). Use the project's virtualenv, which "
            f"`make run` creates:\n  {_command(argv, interpreter='.venv/bin/python')}"
        )
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    subcommand = argv[1] if len(argv) > 1 else None
    show_traceback = "--traceback" in argv
    try:
        settings.INSTALLED_APPS  # noqa: B018 (imports config.settings, which reads the environment)
    except ImproperlyConfigured as exc:
        if show_traceback or subcommand in _NEEDS_NO_SETTINGS:
            raise
        _stop(configuration_message(exc, argv))
    try:
        execute_from_command_line(argv)
    except DatabaseError as exc:
        message = None if show_traceback else database_message(exc)
        if message is None:
            raise
        _stop(message)


def configuration_message(exc: Exception, argv: list[str]) -> str:
    lines = [f"Configuration error: {exc}", 'The variables are listed in README.md, "Configuration".']
    if any(name in str(exc) for name in _PRODUCTION_ONLY):
        lines.append("On the local demo database (what `make run` uses), run it in development mode instead:")
        lines.append(f"  DJANGO_DEBUG=1 {_command(argv)}")
    return "\n".join(lines)


def _command(argv: list[str], interpreter: str | None = None) -> str:
    """The command line to suggest: this interpreter as the user can type it (.venv/bin/python from the root)."""
    if interpreter is None:
        project_venv = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv")
        interpreter = ".venv/bin/python" if sys.prefix == project_venv else "python"
    return " ".join(shlex.quote(part) for part in [interpreter, *argv])


def database_message(exc: Exception) -> str | None:
    """A sentence for a database that cannot serve the command, or None for an error that is a bug."""
    from config import pending_migrations
    from config.db_errors import is_unavailable

    if is_unavailable(exc):
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"Cannot use the catalog database at {database_location()}: {first_line}\n"
            "Check DATABASE_URL and that the database server is running."
        )
    missing = pending_migrations.explains(exc)
    if missing:
        return pending_migrations.summary(missing)
    return None


def database_location() -> str:
    """Where the default database is, without its credentials."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return str(database["NAME"])
    return f"{database.get('HOST') or 'localhost'}:{database.get('PORT') or 5432}/{database.get('NAME')}"


def _stop(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(1)
