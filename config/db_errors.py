"""Which database errors mean "the catalog database is unreachable" (503, retry) rather than a bug (500).

Django wraps every driver error in its own classes, and OperationalError covers both a refused
connection and a statement timeout or a deadlock; the driver's SQLSTATE tells them apart. Only
connection-level failures are an outage: a query that fails against a live server is a bug to log.
"""

from django.db import InterfaceError, OperationalError

# Class 08 (connection exception) and the server shutting down or starting up.
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03")
# SQLite has no SQLSTATE: the file cannot be opened, or another writer holds it past the timeout.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked")


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or was never opened
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", False)
    if sqlstate is not False:  # a psycopg error
        # No SQLSTATE: the client library failed before the server answered (refused, reset, closed).
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
