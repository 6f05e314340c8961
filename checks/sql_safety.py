"""The first safety layer of check execution: is this SQL exactly one read-only query?

The SQL is parsed with sqlglot in the connection's dialect. It is accepted only if it parses
into exactly one statement whose root is a query (SELECT, a set operation, a parenthesised
query), and if no node anywhere in the tree writes, locks, changes the session, or calls a
function that reads server files, reaches other databases or moves a sequence. Anything
sqlglot cannot parse, or parses only as an opaque `Command` (DO blocks, EXPLAIN, CALL,
VACUUM...), is refused: what cannot be checked is not run.

This layer is not the only one: connectors also run the query in a read-only transaction
where the warehouse has one, with a statement timeout and a small fetch.
"""

import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# The sqlglot dialect for each catalog connection type.
DIALECTS = {"postgres": "postgres", "sqlite": "sqlite", "snowflake": "snowflake", "bigquery": "bigquery"}

MAX_SQL_LENGTH = 20_000

_QUERY_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)

# Node types that write, lock, change the session or leave the query language.
_FORBIDDEN_NODES: dict[type, str] = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.TruncateTable: "TRUNCATE",
    exp.Copy: "COPY",
    exp.Pragma: "PRAGMA",
    exp.Attach: "ATTACH",
    exp.Detach: "DETACH",
    exp.Set: "SET",
    exp.Grant: "GRANT",
    exp.Revoke: "REVOKE",
    exp.Export: "EXPORT DATA",
    exp.Put: "PUT",
    exp.Get: "GET",
    exp.Transaction: "a transaction statement",
    exp.Commit: "COMMIT",
    exp.Rollback: "ROLLBACK",
    exp.Use: "USE",
    exp.LoadData: "LOAD DATA",
    exp.Analyze: "ANALYZE",
    exp.Kill: "KILL",
    exp.Cache: "CACHE",
    exp.Uncache: "UNCACHE",
    exp.Refresh: "REFRESH",
    exp.Install: "INSTALL",
    exp.Comment: "COMMENT",
    exp.Into: "SELECT ... INTO (it creates a table)",
    exp.Lock: "a locking clause (FOR UPDATE / FOR SHARE)",
    exp.Command: "a statement that is not a query",
}

# Functions that read or write server files, reach other databases, run SQL given as a string,
# change settings, signal backends, take locks or move sequences. Lower-case names; prefixes end in "*".
_FORBIDDEN_FUNCTIONS = {
    # PostgreSQL: server files, large objects, other databases, SQL-in-a-string
    "pg_read_file", "pg_read_binary_file", "pg_ls_*", "pg_stat_file", "pg_file_*", "lo_*", "dblink*",
    "query_to_xml*", "cursor_to_xml*", "query_to_json*", "xmlexists_query",
    # PostgreSQL: settings, backends, server state
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_promote", "pg_switch_wal", "pg_create_*", "pg_drop_*", "pg_replication_*", "pg_logical_*",
    "pg_advisory_*", "pg_try_advisory_*", "pg_import_system_collations", "pg_stat_reset*", "pg_notify",
    "nextval", "setval", "txid_current", "pg_current_xact_id",
    # SQLite: extensions and files (the latter exist in the sqlite3 shell and some builds)
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
    # Snowflake: system functions act on the account (cancel queries, alter pipes...)
    "system$*",
    # BigQuery: federated queries run SQL on another database
    "external_query",
}

_ANSI_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")

# sqlglot warns on the logger when it falls back to `Command`; the refusal says it to the caller.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class UnsafeSQL(ValueError):
    """The SQL is refused; the message says why, for the caller."""


@dataclass(frozen=True)
class CheckedSQL:
    sql: str
    dialect: str


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _is_forbidden_function(name: str) -> bool:
    for forbidden in _FORBIDDEN_FUNCTIONS:
        if forbidden.endswith("*") and name.startswith(forbidden[:-1]):
            return True
        if name == forbidden:
            return True
    return False


def check_read_only(sql: str, connection_type: str) -> CheckedSQL:
    """Returns the SQL if it is exactly one read-only query in the connection's dialect; raises UnsafeSQL."""
    dialect = DIALECTS.get(connection_type)
    if dialect is None:
        raise UnsafeSQL(f"Unknown connection type {connection_type!r}.")
    if not isinstance(sql, str) or not sql.strip():
        raise UnsafeSQL("The SQL is empty.")
    if len(sql) > MAX_SQL_LENGTH:
        raise UnsafeSQL(f"The SQL is longer than {MAX_SQL_LENGTH} characters.")
    try:
        statements = [statement for statement in sqlglot.parse(sql, read=dialect) if statement is not None]
    except SqlglotError as exc:
        message = _ANSI_ESCAPES.sub("", str(exc)).splitlines()[0][:300]
        raise UnsafeSQL(f"The SQL could not be parsed as {dialect} SQL, so it cannot be verified: {message}") from exc
    if not statements:
        raise UnsafeSQL("The SQL contains no statement.")
    if len(statements) > 1:
        raise UnsafeSQL(f"The SQL must be exactly one statement; it contains {len(statements)}.")
    statement = statements[0]
    for node in statement.walk():
        for node_type, label in _FORBIDDEN_NODES.items():
            if isinstance(node, node_type):
                raise UnsafeSQL(f"The SQL contains {label}; a check may only read.")
        if isinstance(node, exp.Func) and _is_forbidden_function(_function_name(node)):
            raise UnsafeSQL(f"The SQL calls {_function_name(node)}(), which a check may not use.")
    if not isinstance(statement, _QUERY_ROOTS):
        raise UnsafeSQL(f"The SQL must be a SELECT query; it is {statement.key.upper()}.")
    return CheckedSQL(sql=sql.strip().rstrip(";").strip(), dialect=dialect)
