"""Cursors Django does not offer: one that binds its parameters on the server (PostgreSQL)."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def server_bound_cursor():
    """A cursor of the default database that sends its parameters apart from the statement (PostgreSQL's
    extended protocol), wrapped like any Django cursor (execute wrappers and query logging see it).

    Django's cursors splice parameters into the statement text on the client: an array of 500 JSON
    documents is then quoted and escaped character by character in Python. Here it travels as one
    binary value (`%(name)b`), never parsed as SQL."""
    # Imported here: only PostgreSQL needs psycopg.
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    if connection.timezone != raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
        register_tzloader(connection.timezone, raw)
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(raw)
    with cursor:
        yield cursor
