"""Snowflake through snowflake-connector-python, with the session's own controls.

Sessions carry STATEMENT_TIMEOUT_IN_SECONDS and a QUERY_TAG; every query also passes the
connector's client-side `timeout` (which cancels it) and runs with autocommit off and is rolled
back, so a write that slipped past the parser would not be committed. Snowflake has no read-only
transaction: give the connection's role SELECT grants only (docs/checks.md).
Idle sessions are kept in a small per-connection pool.
"""

import contextlib
import math
import threading

import snowflake.connector
from snowflake.connector import errors as snowflake_errors

from checks.connectors.base import (
    Connector,
    QueryRows,
    QueryTag,
    WarehouseQueryError,
    WarehouseTimeout,
    WarehouseUnavailable,
    require,
)

MAX_IDLE_SESSIONS = 2
# Snowflake error numbers for a statement cancelled by its timeout.
_TIMEOUT_ERRNOS = {604, 630}


class SnowflakeConnector(Connector):
    type = "snowflake"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        require(self.config, "account", "user")
        self._idle: list = []
        self._lock = threading.Lock()

    @property
    def _timeout(self) -> int:
        return max(1, math.ceil(self.timeout_seconds))

    def _connect(self, tag: QueryTag):
        session_parameters = {
            "STATEMENT_TIMEOUT_IN_SECONDS": self._timeout,
            "QUERY_TAG": f"dataxpipe-check:{tag.organization}/{tag.connection_id}"[:2000],
        }
        options = {
            key: self.config[key]
            for key in ("account", "user", "password", "warehouse", "database", "schema", "role")
            if self.config.get(key)
        }
        return snowflake.connector.connect(
            **options,
            autocommit=False,
            login_timeout=self._timeout,
            network_timeout=self._timeout,
            session_parameters=session_parameters,
            application="DataXPipe",
        )

    def _checkout(self, tag: QueryTag):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self._connect(tag)
        except snowflake_errors.Error as exc:
            raise WarehouseUnavailable(_message(exc)) from exc

    def _checkin(self, session) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_SESSIONS:
                self._idle.append(session)
                return
        session.close()

    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        session = self._checkout(tag)
        try:
            cursor = session.cursor()
            try:
                cursor.execute(sql, timeout=self._timeout)
                rows = cursor.fetchmany(max_rows)
                columns = [column[0] for column in cursor.description or []]
            finally:
                cursor.close()
            session.rollback()
        except snowflake_errors.Error as exc:
            _close_quietly(session)
            if getattr(exc, "errno", None) in _TIMEOUT_ERRNOS:
                raise WarehouseTimeout(_message(exc)) from exc
            if isinstance(exc, snowflake_errors.OperationalError | snowflake_errors.InterfaceError):
                raise WarehouseUnavailable(_message(exc)) from exc
            raise WarehouseQueryError(_message(exc)) from exc
        except Exception as exc:
            # The fake (and some connector paths) raise plain exceptions; never let them become a 500.
            _close_quietly(session)
            raise WarehouseQueryError(str(exc)) from exc
        self._checkin(session)
        return QueryRows(columns=columns, rows=[tuple(row) for row in rows])

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            _close_quietly(session)


def _message(exc) -> str:
    return getattr(exc, "msg", None) or str(exc)


def _close_quietly(session) -> None:
    # A broken session is discarded either way.
    with contextlib.suppress(Exception):
        session.close()
