"""Physical names: one spelling per physical table or file, whoever names it (docs/lineage.md).

OpenLineage names a dataset by (namespace, name) following its dataset naming spec
(https://openlineage.io/docs/spec/naming): `postgres://host:port` + `db.schema.table`, `bigquery` +
`project.dataset.table`, `snowflake://org-account` + `db.schema.table`, `s3://bucket` + `path`...
pipeline.json names it by a connection and a table. Both are reduced here to one canonical string,
the dataset's `physical_name`; datasets with the same physical name are the same node.

Only what is certain is normalised (scheme aliases, default ports, the case rules of each
warehouse: unquoted PostgreSQL identifiers fold to lower case, Snowflake's to upper case, hosts are
case-insensitive). A namespace we do not know gets no physical name: it is matched by its exact
(namespace, name) only, as before.
"""

import hashlib
from functools import lru_cache
from urllib.parse import urlsplit

_SCHEME_ALIASES = {"postgresql": "postgres", "gcs": "gs", "s3a": "s3", "s3n": "s3", "redshift": "redshift"}
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "redshift": 5439, "hive": 9083, "trino": 8080}
_OBJECT_STORES = ("s3", "gs", "abfss", "wasbs", "hdfs", "file")


def digest(physical_name: str) -> str:
    return hashlib.sha256(physical_name.encode()).hexdigest() if physical_name else ""


# Longest namespace or name kept in physical_name's cache. A symlink facet's identifiers have no length
# cap of their own (only the event's 8 MB): cached as they come, 4,096 of them would keep gigabytes of a
# tenant's strings alive in every worker process.
_CACHED_UP_TO = 1000


def physical_name(namespace: str, name: str) -> str:
    """The canonical name of an OpenLineage dataset, or "" when its namespace is not one we can read."""
    if len(namespace) > _CACHED_UP_TO or len(name) > _CACHED_UP_TO:
        return _physical_name(namespace, name)
    return _cached_physical_name(namespace, name)


def _physical_name(namespace: str, name: str) -> str:
    namespace, name = namespace.strip(), name.strip()
    if not namespace or not name:
        return ""
    if namespace.lower() == "file":  # the spec's local files: namespace "file", name the absolute path
        return f"file:///{name.strip('/')}" if name.strip("/") else ""
    if namespace.lower() == "bigquery":
        parts = name.split(".")
        return f"bigquery/{'.'.join(parts)}" if len(parts) == 3 and all(parts) else ""
    try:
        parts = urlsplit(namespace)
        port = parts.port
    except ValueError:
        return ""
    scheme = _SCHEME_ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    host = (parts.hostname or "").lower()
    if scheme in _OBJECT_STORES:
        path = "/".join(segment for segment in (parts.path.strip("/"), name.strip("/")) if segment)
        if not path or (scheme != "file" and not host):
            return ""
        return f"{scheme}://{host}/{path}" if scheme != "file" else f"file:///{path}"
    if scheme == "snowflake":
        tables = name.split(".")
        if not host or len(tables) != 3 or not all(tables):
            return ""
        return f"snowflake://{host}/{'.'.join(_snowflake_identifier(t) for t in tables)}"
    if scheme in _DEFAULT_PORTS:
        tables = name.split(".")
        if not host or not all(tables) or len(tables) not in (2, 3):
            return ""
        port = port or _DEFAULT_PORTS[scheme]
        identifiers = tables if scheme != "postgres" else [_postgres_identifier(t) for t in tables]
        return f"{scheme}://{host}:{port}/{'.'.join(identifiers)}"
    return ""


# A pure function of two strings, asked again for every event that names the same datasets (a batch
# of one job's runs names the same few thousands of times): answered from memory after the first.
_cached_physical_name = lru_cache(maxsize=4096)(_physical_name)


def _postgres_identifier(identifier: str) -> str:
    """Unquoted PostgreSQL identifiers fold to lower case; a quoted one keeps its case."""
    if len(identifier) > 1 and identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1]
    return identifier.lower()


def _snowflake_identifier(identifier: str) -> str:
    """Unquoted Snowflake identifiers fold to upper case; a quoted one keeps its case."""
    if len(identifier) > 1 and identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1]
    return identifier.upper()


def symlink_physical_name(facets: dict) -> str:
    """The physical name of a dataset's first `symlinks` identifier of type TABLE we can read, else "".

    Spark reports a table it writes by its storage path (s3://bucket/warehouse/orders) with the table
    as a symlink (hive://metastore + db.orders, or a warehouse table): the table is the name people
    and pipeline.json use, so it is the node's identity when there is one.
    """
    symlinks = (facets or {}).get("symlinks")
    identifiers = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
    if not isinstance(identifiers, list):
        return ""
    for identifier in identifiers:
        if not isinstance(identifier, dict):
            continue
        namespace, name = identifier.get("namespace"), identifier.get("name")
        kind = str(identifier.get("type") or "TABLE").upper()
        if isinstance(namespace, str) and isinstance(name, str) and kind == "TABLE":
            found = physical_name(namespace, name)
            if found:
                return found
    return ""


def dataset_physical_name(namespace: str, name: str, facets: dict | None = None) -> str:
    """An event dataset's identity: its TABLE symlink when it has one, else its own name."""
    return symlink_physical_name(facets or {}) or physical_name(namespace, name)


def connection_physical_name(connection_type: str, config: dict, table: str) -> str:
    """A pipeline.json dataset's physical name, from its connection (type and stored config) and table.

    Only what the config states is used; a host or database held as a secret reference, or a
    table name too short to place, gives no physical name (the dataset is then matched by its id).
    """
    table = (table or "").strip()
    if not table:
        return ""
    parts = table.split(".")
    if connection_type == "postgres":
        host, port, database = _postgres_target(config)
        if not host or not database:
            return ""
        if len(parts) == 1:
            parts = [config.get("schema") or "public", *parts]
        if len(parts) == 2:
            parts = [database, *parts]
        return physical_name(f"postgres://{host}:{port or 5432}", ".".join(parts))
    if connection_type == "bigquery":
        project = config.get("project")
        if len(parts) == 2 and isinstance(project, str) and project:
            parts = [project, *parts]
        elif len(parts) == 1 and project and config.get("dataset"):
            parts = [project, config["dataset"], *parts]
        return physical_name("bigquery", ".".join(parts))
    if connection_type == "snowflake":
        account = config.get("account")
        if len(parts) == 1 and config.get("schema"):
            parts = [config["schema"], *parts]
        if len(parts) == 2 and config.get("database"):
            parts = [config["database"], *parts]
        if not isinstance(account, str) or not account:
            return ""
        return physical_name(f"snowflake://{account}", ".".join(parts))
    return ""


def _postgres_target(config: dict) -> tuple[str, int | None, str]:
    dsn = config.get("dsn")
    if isinstance(dsn, str) and dsn.startswith(("postgres://", "postgresql://")):
        try:
            parts = urlsplit(dsn)
            return (parts.hostname or "", parts.port, parts.path.lstrip("/"))
        except ValueError:
            return "", None, ""
    if isinstance(dsn, str):
        values = dict(item.split("=", 1) for item in dsn.split() if "=" in item)
        port = values.get("port")
        return values.get("host", ""), _port_number(port), values.get("dbname", "")
    port = config.get("port")
    host, database = config.get("host"), config.get("database")
    return (
        host if isinstance(host, str) else "",
        _port_number(port),
        database if isinstance(database, str) else "",
    )


def _port_number(port) -> int | None:
    """A port written in ASCII digits, else None (str.isdigit() holds for '²', which int() refuses)."""
    text = str(port) if isinstance(port, int | str) and not isinstance(port, bool) else ""
    return int(text) if text.isascii() and text.isdigit() else None
