"""The one interface every warehouse connector implements, and the errors it may raise.

A connector runs one already-verified read-only query with the connection's statement timeout
and returns at most `max_rows` rows. It never raises anything but `WarehouseError` subclasses
for warehouse trouble, so the service can record an `error` result instead of failing the request.
"""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 300.0
MIN_TIMEOUT_SECONDS = 0.1
# The most a check's first rows may weigh: a check returns one small row holding the number of violations;
# anything bigger is an `error` result, and the connector keeps it from ever filling a worker's memory.
MAX_RESULT_BYTES = 1024 * 1024


class ConnectionRefused(Exception):
    """The connection's configuration breaks a rule (a path outside the allowed directories,
    an unknown type, a bad timeout): nothing is run. The message is safe to show."""


class WarehouseError(Exception):
    """The warehouse could not answer the query. `kind` says how; the message may contain secrets
    until the service scrubs it."""

    kind = "query"


class WarehouseUnavailable(WarehouseError):
    """Down, unreachable, refusing the login, or its secrets cannot be resolved now."""

    kind = "unavailable"


class WarehouseTimeout(WarehouseError):
    kind = "timeout"


class WarehouseQueryError(WarehouseError):
    kind = "query"


@dataclass(frozen=True)
class QueryTag:
    """Identifies the check to the warehouse (Snowflake query tag, BigQuery labels, application_name)."""

    organization: str
    connection_id: str
    check_id: str = ""


@dataclass
class QueryRows:
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)


def statement_timeout_seconds(config: dict, cap: float = MAX_TIMEOUT_SECONDS) -> float:
    """`statement_timeout_seconds` of a connection config: default 30 s, capped, never zero."""
    raw = config.get("statement_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConnectionRefused("statement_timeout_seconds must be a number of seconds.") from None
    if not math.isfinite(value) or value <= 0:
        raise ConnectionRefused("statement_timeout_seconds must be a positive number of seconds.")
    return min(max(value, MIN_TIMEOUT_SECONDS), cap)


def require(config: dict, *keys: str) -> None:
    missing = [key for key in keys if not config.get(key)]
    if missing:
        raise WarehouseUnavailable(f"The connection's config lacks {', '.join(missing)}.")


class Connector(ABC):
    """One instance per (connection, resolved config), cached by the registry and shared by threads."""

    type: str = ""

    def __init__(self, *, config: dict, timeout_seconds: float, label: str, secret_keys=frozenset()):
        self.config = config
        # Keys whose values were resolved from `*_secret` references.
        self.secret_keys = frozenset(secret_keys) | {"password", "credentials", "token"}
        self.timeout_seconds = timeout_seconds
        self.label = label  # the connection id, for messages and application names

    def admit(self) -> None:
        """Checks, before every execution, the rules a cached connector may have come to break (the egress
        policy of connectors that open sockets). Raises ConnectionRefused or WarehouseUnavailable."""
        return None

    @abstractmethod
    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        """Runs `sql` read-only with the statement timeout; returns at most `max_rows` rows."""

    @abstractmethod
    def close(self) -> None:
        """Releases pooled connections or clients; called when the registry evicts the connector."""

    def secret_values(self) -> list[str]:
        """Values that must never appear in an error message (scrubbed by the service)."""
        return [str(self.config[key]) for key in self.secret_keys if self.config.get(key)]
