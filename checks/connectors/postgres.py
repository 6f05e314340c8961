"""PostgreSQL: a pooled SQLAlchemy engine (psycopg 3) per connection, sessions opened by pg_session.

Every new session goes to an address the egress policy (catalog/egress.py) has just checked, with the
catalog's own libpq settings, and is refused for a privileged role (pg_session.py). Each check then runs
in its own transaction:
1. `SET TRANSACTION READ ONLY; SET LOCAL statement_timeout` (the catalog's statement, alone);
2. the check SQL is parsed alone by the server through the extended protocol (an unnamed Parse), so the
   server itself refuses more than one statement, whatever the SQL parser upstream concluded;
3. the same SQL, wrapped so the server measures the first rows and sends only their size when it is
   above MAX_RESULT_BYTES, runs through the extended protocol; step 2 proves the wrapper cannot be
   escaped (a single complete statement keeps its parentheses, quotes and comments balanced);
4. the transaction is rolled back and the session reset (DISCARD ALL: advisory locks, session settings,
   prepared statements, temporary tables), so nothing a check did outlives it.
"""

import contextlib
import logging
import os
import socket
import threading

import psycopg
import psycopg.generators
import psycopg.pq
import sqlalchemy

from catalog import egress, pg_conninfo
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
from checks.connectors.pg_session import CONNECT_FAILED, open_session

logger = logging.getLogger(__name__)

# SQLSTATE classes: 57014 query_canceled (the statement timeout), 08 connection exceptions,
# 28 invalid authorization, 3D000 unknown database, 57P0x server shutting down.
_TIMEOUT_STATES = {"57014"}
_UNAVAILABLE_PREFIXES = ("08", "28", "3D", "57P")
# How long past the statement timeout the client waits for the server's answer before it gives up on a
# warehouse that went silent (the server's own timeout and its cancellation reply come first normally).
SILENCE_GRACE_SECONDS = 5


def bounded_query(sql: str, max_rows: int, max_bytes: int = MAX_RESULT_BYTES) -> str:
    """`sql` wrapped so that its first `max_rows` rows come back only when their text form fits in `max_bytes`.

    Every row starts with the rows' total size; 0 means no row, and above `max_bytes` a single row carries the
    size alone. The newline before the closing parenthesis ends a trailing `--` comment of the SQL.
    """
    # The SQL was verified and is parsed alone by the server first (_parse_alone): it cannot escape the CTE.
    measured = (
        f"dataxpipe_rows AS (SELECT * FROM dataxpipe_query LIMIT {int(max_rows)}), "  # noqa: S608 (ints only)
        "dataxpipe_size AS (SELECT coalesce(sum(octet_length(dataxpipe_rows::text)), 0) AS bytes FROM dataxpipe_rows) "
        "SELECT dataxpipe_size.bytes, dataxpipe_rows.* FROM dataxpipe_size "
        f"LEFT JOIN dataxpipe_rows ON dataxpipe_size.bytes <= {int(max_bytes)}"
    )
    return "WITH dataxpipe_query AS (\n" + sql + "\n), " + measured


def _parse_alone(raw, sql: str) -> None:
    """Has the server parse `sql` as one unnamed prepared statement (nothing runs): it refuses several commands."""
    raw.pgconn.send_prepare(b"", sql.encode("utf-8"))
    results = raw.wait(psycopg.generators.execute(raw.pgconn))
    for result in results:
        if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise psycopg.errors.error_from_result(result, encoding="utf-8")


def _reset_session(raw) -> bool:
    """Rolls back and DISCARDs ALL the session's state (an advisory lock, a cursor...); False if it failed."""
    try:
        raw.rollback()
        result = raw.pgconn.exec_(b"DISCARD ALL")
        return result.status == psycopg.pq.ExecStatus.COMMAND_OK
    except psycopg.Error:
        return False


class PostgresConnector(Connector):
    type = "postgres"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        try:
            self.target = pg_conninfo.target_from_config(self.config)
        except pg_conninfo.ConninfoProblem as exc:
            raise ConnectionRefused(str(exc)) from None
        problem = egress.host_problem(self.target.host)
        if problem:
            raise ConnectionRefused(f"host {problem}")
        if not self.target.user:
            raise ConnectionRefused("The connection names no user (libpq would pick the catalog's own).")
        self._dsn_password = self.target.password
        self.engine = sqlalchemy.create_engine(
            "postgresql+psycopg://",
            creator=self._open,
            pool_size=2,
            max_overflow=3,
            # Waiting for a pooled connection is bounded like the query itself.
            pool_timeout=self.timeout_seconds,
            # No pre-ping (a round trip per check): a dropped session is detected and retried in fetch().
            pool_recycle=600,
        )

    def _destination(self) -> egress.Destination:
        return egress.check_destination(self.target.host, self.target.port, self.target.dbname)

    def admit(self) -> None:
        """The egress policy, before every execution: the rules or the allow-list may have changed."""
        try:
            self._destination()
        except egress.EgressRefused as exc:
            raise ConnectionRefused(str(exc)) from None
        except egress.Unresolvable:
            raise WarehouseUnavailable(CONNECT_FAILED) from None

    def _open(self):
        # Checked again for each physical session, and that address is the one libpq connects to.
        try:
            destination = self._destination()
        except egress.EgressRefused as exc:
            raise WarehouseUnavailable(f"The egress policy refused the connection: {exc}") from None
        except egress.Unresolvable:
            raise WarehouseUnavailable(CONNECT_FAILED) from None
        return open_session(self.target, destination, label=self.label, timeout_seconds=self.timeout_seconds)

    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        try:
            return self._fetch(sql, max_rows)
        except _StaleConnection:
            # A pooled session the server dropped (restart, idle timeout): nothing ran; once more on a fresh one.
            # The pool's other idle sessions are as old and dropped too: replaced, so the retry opens a new one
            # (sessions checked out by other threads are closed when they come back).
            self.engine.dispose()
        try:
            return self._fetch(sql, max_rows)
        except _StaleConnection as exc:
            # Dropped again, on a fresh session: the server ends the query's session (terminated, crashed).
            message = f"The warehouse closed the connection during the query: {exc.__cause__}"
            raise WarehouseUnavailable(message) from exc

    def _fetch(self, sql: str, max_rows: int) -> QueryRows:
        timeout_ms = max(1, int(self.timeout_seconds * 1000))
        try:
            with self.engine.connect() as connection:
                raw = connection.connection.dbapi_connection
                watchdog = _SilenceWatchdog(raw, self.timeout_seconds + SILENCE_GRACE_SECONDS)
                try:
                    with watchdog, raw.cursor() as cursor:
                        try:
                            # The catalog's own statements; SET TRANSACTION must come first in the transaction.
                            cursor.execute(f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout_ms}")
                            _parse_alone(raw, sql)
                            # binary=True: the extended protocol without parameters, so a `%` stays a `%`.
                            cursor.execute(bounded_query(sql, max_rows), binary=True)
                        except psycopg.OperationalError as exc:
                            if watchdog.fired:
                                connection.invalidate()
                                raise WarehouseTimeout(
                                    f"The warehouse sent no answer within {watchdog.seconds:g} s."
                                ) from exc
                            if raw.closed:  # the session was gone
                                connection.invalidate()
                                raise _StaleConnection() from exc
                            raise
                        rows = cursor.fetchall()
                        columns = [column.name for column in (cursor.description or [])[1:]]
                finally:
                    if raw.closed or not _reset_session(raw):
                        connection.invalidate()
        except (_StaleConnection, WarehouseTimeout):
            raise
        except sqlalchemy.exc.TimeoutError as exc:
            raise WarehouseUnavailable(f"No free connection to the warehouse within the timeout ({exc}).") from exc
        except sqlalchemy.exc.DBAPIError as exc:
            # Raised while connecting through the pool.
            raise _classify(exc.orig or exc, connecting=True) from exc
        except psycopg.Error as exc:
            raise _classify(exc, connecting=False) from exc
        return _measured_rows(columns, rows)

    def close(self) -> None:
        self.engine.dispose()

    def secret_values(self) -> list[str]:
        values = super().secret_values()
        if self._dsn_password:
            values.append(str(self._dsn_password))
        return values


def _measured_rows(columns: list[str], rows: list[tuple]) -> QueryRows:
    size = int(rows[0][0]) if rows else 0
    if size > MAX_RESULT_BYTES:
        raise WarehouseQueryError(
            f"The check's result is too large: its first rows weigh {size} bytes, above the {MAX_RESULT_BYTES} "
            "bytes a check may return (one row holding the number of violations); nothing was fetched."
        )
    return QueryRows(columns=columns, rows=[tuple(row[1:]) for row in rows] if size else [])


class _StaleConnection(Exception):
    pass


class _SilenceWatchdog:
    """Shuts the session's socket down if the query has not returned `seconds` after it was sent.

    libpq has no read timeout, and TCP keepalives do not help when something between here and the
    server (a proxy, a load balancer) keeps the TCP connection alive but relays nothing: without this,
    the request would wait forever. Shutting the socket down makes the blocked read fail at once.
    """

    def __init__(self, raw_connection, seconds: float):
        self.raw, self.seconds, self.fired = raw_connection, seconds, False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def _fire(self):
        self.fired = True
        with contextlib.suppress(OSError, psycopg.Error):
            duplicate = socket.socket(fileno=os.dup(self.raw.fileno()))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
            finally:
                duplicate.close()


def _classify(exc: Exception, *, connecting: bool) -> Exception:
    state = getattr(exc, "sqlstate", None) or ""
    message = str(exc).strip()
    if state in _TIMEOUT_STATES:
        return WarehouseTimeout(message)
    if state.startswith(_UNAVAILABLE_PREFIXES) or (isinstance(exc, psycopg.OperationalError) and not state):
        return WarehouseUnavailable(message)  # refused, unreachable, login refused, server shutting down
    if connecting:
        return WarehouseUnavailable(CONNECT_FAILED)
    return WarehouseQueryError(message)
