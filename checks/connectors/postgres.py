"""PostgreSQL: a pooled SQLAlchemy engine (psycopg 3) per connection.

Each check runs in its own transaction that starts with `SET TRANSACTION READ ONLY` and
`SET LOCAL statement_timeout`, fetches a few rows and is rolled back. Sessions also default to
read-only transactions, so even a statement that ended the first transaction could not write.
"""

import contextlib
import math
import os
import socket
import threading

import psycopg
import psycopg.conninfo
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from checks.connectors.base import (
    Connector,
    QueryRows,
    QueryTag,
    WarehouseQueryError,
    WarehouseTimeout,
    WarehouseUnavailable,
)

# SQLSTATE classes: 57014 query_canceled (the statement timeout), 08 connection exceptions,
# 28 invalid authorization, 3D000 unknown database, 57P0x server shutting down.
_TIMEOUT_STATES = {"57014"}
_UNAVAILABLE_PREFIXES = ("08", "28", "3D", "57P")
CONNECT_TIMEOUT_SECONDS = 5
# How long past the statement timeout the client waits for the server's answer before it gives up on a
# warehouse that went silent (the server's own timeout and its cancellation reply come first normally).
SILENCE_GRACE_SECONDS = 5


def _url(config: dict) -> URL:
    parts = dict(config)
    dsn = str(config.get("dsn") or "")
    if "://" in dsn:
        try:
            url = make_url(dsn)
        except sqlalchemy.exc.ArgumentError:
            raise WarehouseUnavailable("The connection's dsn is not a valid PostgreSQL URL.") from None
        url = url.set(drivername="postgresql+psycopg")
        return url.set(password=config["password"]) if config.get("password") else url
    if dsn:
        # A libpq keyword DSN ("host=... dbname=..."): its values, overridden by explicit keys.
        try:
            keywords = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise WarehouseUnavailable("The connection's dsn is neither a URL nor a libpq keyword string.") from None
        parts = {"database": keywords.get("dbname"), **keywords, **{k: v for k, v in config.items() if v}}
    if not parts.get("host") or not parts.get("database"):
        raise WarehouseUnavailable("The connection's config needs dsn, or host and database.")
    return URL.create(
        "postgresql+psycopg",
        username=parts.get("user"),
        password=parts.get("password"),
        host=parts["host"],
        port=int(parts["port"]) if parts.get("port") else None,
        database=parts["database"],
    )


class PostgresConnector(Connector):
    type = "postgres"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        url = _url(self.config)
        self._dsn_password = url.password
        self.engine = sqlalchemy.create_engine(
            url,
            pool_size=2,
            max_overflow=3,
            # Waiting for a pooled connection is bounded like the query itself.
            pool_timeout=self.timeout_seconds,
            # No pre-ping (a round trip per check): a dropped session is detected and retried in fetch().
            pool_recycle=600,
            connect_args={
                "connect_timeout": min(CONNECT_TIMEOUT_SECONDS, max(1, math.ceil(self.timeout_seconds))),
                "application_name": f"dataxpipe-check:{self.label}"[:63],
                # A server that vanishes mid-query (no answer, no reset) is noticed a few seconds after
                # the statement timeout would have fired, instead of after the kernel's two hours.
                "keepalives": 1,
                "keepalives_idle": math.ceil(self.timeout_seconds) + 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
            },
        )
        event.listen(self.engine, "connect", _default_read_only)

    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        try:
            return self._fetch(sql, max_rows)
        except _StaleConnection:
            # A pooled session the server dropped (restart, idle timeout): nothing ran; once more on a fresh one.
            pass
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
                # The driver's own cursor: without parameters psycopg sends the SQL untouched
                # (a `%` in a LIKE pattern is not a placeholder).
                raw = connection.connection.dbapi_connection
                watchdog = _SilenceWatchdog(raw, self.timeout_seconds + SILENCE_GRACE_SECONDS)
                try:
                    with watchdog, raw.cursor() as cursor:
                        try:
                            # One round trip: the transaction's guards, then the (verified, single) query.
                            # SET TRANSACTION must come first in the transaction psycopg opens.
                            cursor.execute(
                                f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout_ms};\n{sql}"
                            )
                        except psycopg.OperationalError as exc:
                            if watchdog.fired:
                                connection.invalidate()
                                raise WarehouseTimeout(
                                    f"The warehouse sent no answer within {watchdog.seconds:g} s."
                                ) from exc
                            if raw.closed:  # the session was gone: nothing ran
                                connection.invalidate()
                                raise _StaleConnection() from exc
                            raise
                        while cursor.nextset():
                            pass  # the results of the two SETs come first
                        columns = [column.name for column in cursor.description or []]
                        rows = [tuple(row) for row in cursor.fetchmany(max_rows)] if cursor.description else []
                finally:
                    if not raw.closed:
                        raw.rollback()
        except (_StaleConnection, WarehouseTimeout):
            raise
        except sqlalchemy.exc.TimeoutError as exc:
            raise WarehouseUnavailable(f"No free connection to the warehouse within the timeout ({exc}).") from exc
        except sqlalchemy.exc.DBAPIError as exc:
            # Raised while connecting through the pool.
            raise _classify(exc.orig or exc, connecting=True) from exc
        except psycopg.Error as exc:
            raise _classify(exc, connecting=False) from exc
        return QueryRows(columns=columns, rows=rows)

    def close(self) -> None:
        self.engine.dispose()

    def secret_values(self) -> list[str]:
        values = super().secret_values()
        if self._dsn_password:
            values.append(str(self._dsn_password))
        return values


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


def _default_read_only(dbapi_connection, _record):
    # psycopg opens a transaction for this SET; commit it so the session setting sticks.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_connection.commit()


def _classify(exc: Exception, *, connecting: bool) -> Exception:
    state = getattr(exc, "sqlstate", None) or ""
    message = str(exc).strip()
    if state in _TIMEOUT_STATES:
        return WarehouseTimeout(message)
    if state.startswith(_UNAVAILABLE_PREFIXES) or (isinstance(exc, psycopg.OperationalError) and not state):
        return WarehouseUnavailable(message)  # refused, unreachable, login refused, server shutting down
    if connecting:
        return WarehouseUnavailable(message)
    return WarehouseQueryError(message)
