"""Warehouse connectors: one small class per connection type behind `base.Connector`.

`connector_for(connection)` resolves the connection's secrets now (through the catalog's
`resolve_connection_config`), and returns a connector cached per process, admitted again on every
execution (`Connector.admit`: the egress policy may now refuse it), keyed by the connection's
primary key and a hash of its resolved config: a changed config or a rotated secret gets a fresh
engine; idle connectors beyond the cache size are closed.

Connector classes are imported by name, on first use (`CONNECTOR_CLASSES`, `importlib`): a worker
that never runs a Snowflake or BigQuery check never imports those heavy client libraries. It is the
one `importlib` import in the apps, and it stays inside `checks`, so it hides no link between apps
(tests/test_layers.py allows it here and nowhere else).
"""

import hashlib
import importlib
import json
import threading
from collections import OrderedDict

from django.conf import settings

from catalog.secrets import SECRET_SUFFIX, SecretReferenceRefused, SecretResolutionError, resolve_connection_config
from checks.connectors.base import (
    MAX_TIMEOUT_SECONDS,
    ConnectionRefused,
    Connector,
    QueryRows,
    QueryTag,
    WarehouseError,
    WarehouseQueryError,
    WarehouseTimeout,
    WarehouseUnavailable,
    statement_timeout_seconds,
)

__all__ = [
    "ConnectionRefused",
    "Connector",
    "QueryRows",
    "QueryTag",
    "WarehouseError",
    "WarehouseQueryError",
    "WarehouseTimeout",
    "WarehouseUnavailable",
    "clear_cache",
    "connector_for",
]

CONNECTOR_CLASSES = {
    "postgres": "checks.connectors.postgres.PostgresConnector",
    "sqlite": "checks.connectors.sqlite.SqliteConnector",
    "snowflake": "checks.connectors.snowflake.SnowflakeConnector",
    "bigquery": "checks.connectors.bigquery.BigQueryConnector",
}
CACHE_SIZE = 64

_cache: "OrderedDict[tuple, Connector]" = OrderedDict()
_lock = threading.Lock()


def _connector_class(connection_type: str) -> type[Connector]:
    dotted = CONNECTOR_CLASSES.get(connection_type)
    if dotted is None:
        raise ConnectionRefused(f"Connections of type {connection_type!r} cannot run checks.")
    module_name, class_name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)


def _config_hash(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def connector_for(connection) -> Connector:
    """The connector of a catalog Connection, secrets resolved. Raises ConnectionRefused for a
    configuration that breaks a rule, WarehouseUnavailable when it cannot be set up now."""
    connector_class = _connector_class(connection.type)
    try:
        config = resolve_connection_config(connection)
    except SecretReferenceRefused as exc:
        raise ConnectionRefused(f"A secret reference breaks the rule: {exc}") from exc
    except SecretResolutionError as exc:
        raise WarehouseUnavailable(f"The connection's secrets cannot be resolved: {exc}") from exc
    cap = float(getattr(settings, "DATAXPIPE_CHECK_MAX_TIMEOUT_SECONDS", MAX_TIMEOUT_SECONDS))
    timeout = statement_timeout_seconds(config, cap=cap)
    extra = {}
    if connection.type == "sqlite":
        from checks.connectors.sqlite import resolve_sqlite_path

        # Checked on every execution: the allowed directories or a symlink may have changed.
        extra["path"] = resolve_sqlite_path(config.get("path"), connection.organization)
    key = (connection.pk, connection.type, _config_hash({**config, **extra, "_timeout": timeout}))
    with _lock:
        connector = _cache.get(key)
        if connector is not None:
            _cache.move_to_end(key)
    if connector is not None:
        connector.admit()
        return connector
    secret_keys = {name.removesuffix(SECRET_SUFFIX) for name in connection.config if name.endswith(SECRET_SUFFIX)}
    try:
        connector = connector_class(
            config=config, timeout_seconds=timeout, label=connection.connection_id, secret_keys=secret_keys, **extra
        )
    except (ConnectionRefused, WarehouseError):
        raise
    except Exception as exc:
        # A resolved value the connector cannot use (`port_secret` naming a word): the exception's text may
        # quote the secret, so only its class is told, and the request answers 502, not 500.
        raise WarehouseUnavailable(
            f"The connection's resolved config cannot be used ({exc.__class__.__name__}); check its *_secret values."
        ) from None
    evicted = []
    with _lock:
        existing = _cache.get(key)
        if existing is not None:
            evicted.append(connector)  # another thread built the same one first
            connector = existing
        else:
            _cache[key] = connector
            while len(_cache) > CACHE_SIZE:
                evicted.append(_cache.popitem(last=False)[1])
            # A connection whose config changed leaves its old connector behind: close it now.
            for stale_key in [k for k in _cache if k[0] == connection.pk and k != key]:
                evicted.append(_cache.pop(stale_key))
    for old in evicted:
        old.close()
    connector.admit()
    return connector


def clear_cache() -> None:
    with _lock:
        connectors = list(_cache.values())
        _cache.clear()
    for connector in connectors:
        connector.close()
