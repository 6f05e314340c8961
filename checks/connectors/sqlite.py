"""SQLite files: opened read-only by URI, only under the operator's allowed directories.

Layers: the path must resolve (symlinks followed) inside the organization's own directory under
`DATAXPIPE_SQLITE_ALLOWED_DIRS` and must not be the catalog's own database (catalog.sqlite_paths);
the file is opened with `mode=ro`, `PRAGMA query_only`, no attachable databases; while a check runs,
an authorizer allows only reads and a progress handler interrupts it at the statement timeout.

SQLite runs inside the worker, so its results are bounded before they exist: no string or blob may
exceed MAX_RESULT_BYTES (`SQLITE_LIMIT_LENGTH`: `zeroblob(300000000)` is an error, not 300 MB), a
check's result has at most MAX_RESULT_COLUMNS columns (read from a `LIMIT 0` probe that computes no
row), and the rows fetched may weigh MAX_RESULT_BYTES in all: the worst a check can hold in memory is
MAX_ROWS x MAX_RESULT_COLUMNS x MAX_RESULT_BYTES, whatever the file holds.
"""

import os
import sqlite3
import time
from urllib.parse import quote

import sqlalchemy
from sqlalchemy.pool import QueuePool

from catalog import sqlite_paths
from checks.connectors.base import (
    MAX_RESULT_BYTES,
    ConnectionRefused,
    Connector,
    QueryRows,
    QueryTag,
    WarehouseQueryError,
    WarehouseTimeout,
    WarehouseUnavailable,
)
from checks.sql_safety import _is_forbidden_function

_PROGRESS_EVERY_N_OPS = 1000
# A check answers one row of a few columns (the violations and perhaps some context).
MAX_RESULT_COLUMNS = 16
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}


def resolve_sqlite_path(raw_path, organization) -> str:
    """The real path of the organization's sqlite file, or ConnectionRefused (rules: catalog.sqlite_paths)."""
    try:
        return sqlite_paths.resolve(raw_path, organization)
    except sqlite_paths.SqlitePathRefused as exc:
        raise ConnectionRefused(str(exc)) from None


def _authorizer(action, arg1, arg2, _db_name, _trigger):
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and not _is_forbidden_function(str(arg2 or "").lower()):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _refuse_wide_results(cursor, sql: str) -> None:
    # LIMIT 0 prepares the query and stops before its first row: the column count costs no computation.
    # The newline ends a trailing `--` comment; the SQL was verified as one query, so it cannot escape.
    cursor.execute(f"SELECT * FROM (\n{sql}\n) LIMIT 0")  # noqa: S608 (verified SQL, no parameters)
    width = len(cursor.description or [])
    if width > MAX_RESULT_COLUMNS:
        raise WarehouseQueryError(
            f"The check returns {width} columns; a check returns at most {MAX_RESULT_COLUMNS} "
            "(one row holding the number of violations)."
        )


def _refuse_heavy_rows(rows) -> None:
    size = sum(len(value) if isinstance(value, str | bytes) else 8 for row in rows for value in row)
    if size > MAX_RESULT_BYTES:
        raise WarehouseQueryError(
            f"The check's result is too large: its first rows weigh about {size} bytes, above the "
            f"{MAX_RESULT_BYTES} bytes a check may return (one row holding the number of violations)."
        )


class SqliteConnector(Connector):
    type = "sqlite"

    def __init__(self, *, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        uri = f"file:{quote(path)}?mode=ro"
        busy_timeout = self.timeout_seconds

        def open_read_only():
            connection = sqlite3.connect(uri, uri=True, timeout=busy_timeout, check_same_thread=False)
            connection.execute("PRAGMA query_only = ON")
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_RESULT_BYTES)
            return connection

        self.engine = sqlalchemy.create_engine(
            "sqlite://",
            creator=open_read_only,
            poolclass=QueuePool,
            pool_size=2,
            max_overflow=3,
            pool_timeout=self.timeout_seconds,
        )

    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        if not os.path.exists(self.path):
            raise WarehouseUnavailable(f"The sqlite file of connection {self.label} does not exist.")
        deadline = time.monotonic() + self.timeout_seconds
        try:
            with self.engine.connect() as connection:
                raw = connection.connection.dbapi_connection
                raw.set_authorizer(_authorizer)
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_EVERY_N_OPS)
                try:
                    cursor = raw.cursor()
                    try:
                        _refuse_wide_results(cursor, sql)
                        cursor.execute(sql)
                        rows = cursor.fetchmany(max_rows)
                        columns = [column[0] for column in cursor.description or []]
                    finally:
                        cursor.close()
                finally:
                    raw.set_progress_handler(None, 0)
                    raw.set_authorizer(None)
                    raw.rollback()
        except sqlalchemy.exc.TimeoutError as exc:
            raise WarehouseUnavailable(f"No free connection to the sqlite file within the timeout ({exc}).") from exc
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if message == "interrupted" or time.monotonic() > deadline:
                raise WarehouseTimeout(f"The query was interrupted after {self.timeout_seconds:g} s.") from exc
            if "unable to open" in message:
                raise WarehouseUnavailable(message) from exc
            raise WarehouseQueryError(message) from exc
        except sqlite3.Error as exc:
            raise WarehouseQueryError(str(exc)) from exc
        _refuse_heavy_rows(rows)
        return QueryRows(columns=columns, rows=[tuple(row) for row in rows])

    def close(self) -> None:
        self.engine.dispose()
