"""The first safety layer of check execution: is this SQL exactly one read-only query?

The SQL is tokenized and parsed with sqlglot in the connection's dialect. It is accepted only if
it parses into exactly one statement whose root is a query (SELECT, a set operation, a
parenthesised query), and if no node anywhere in the tree writes, locks, changes the session, or
calls a function that reads server files, reaches other databases, runs SQL given as a string,
signals other sessions, takes advisory locks or moves a sequence. Anything sqlglot cannot parse,
or parses only as an opaque `Command` (DO blocks, EXPLAIN, CALL, VACUUM...), is refused: what
cannot be checked is not run.

Function names are judged after normalisation, twice, so that no spelling gets around the list:
- on the token stream: every name token directly followed by `(` (a call, a table function,
  `LATERAL f(...)`, `ROWS FROM (f(...))`, a schema-qualified `s.f(...)`), whatever sqlglot later
  makes of it (an `Anonymous`, one of its own classes, a `Table`...);
- on the tree: every function node, under its `Anonymous` name and under every name of its
  sqlglot class.
Normalising means: quotes stripped (`"PG_READ_FILE"`), lower-cased (over-refusing a case-sensitive
Snowflake name is fine), the last dotted part (`"pg_catalog"."pg_ls_dir"`, BigQuery's
`` `proj.ds.fn` ``), PostgreSQL `U&"..."` escapes decoded (`\\hhhh`, `\\+hhhhhh` in hex digits, `UESCAPE 'c'`).

PostgreSQL `U&` identifiers and strings are refused outright, whatever they decode to: sqlglot
reads `U&"name"` as a bitwise AND of a column `U` and a quoted name, so the tree it checks is not
the statement PostgreSQL runs; re-implementing PostgreSQL's decoding (UESCAPE, surrogate pairs,
its dependence on standard_conforming_strings) as a second lexer invites exactly the mismatch
being closed; and no data-quality check needs them (the SQL is UTF-8: write the character).
For the same reason a plain PostgreSQL string with a backslash before a quote (or at its end) is
refused: where it ends depends on the warehouse's standard_conforming_strings, which the tenant
controls, so sqlglot and the server could disagree on what is code and what is data.

Nesting is bounded before sqlglot recurses: brackets are counted on sqlglot's own token stream
(strings, comments and dollar quotes already told apart, exactly as the parser will see them), and
SQL nested deeper than MAX_NESTING is refused. Other deep shapes without brackets (NOT NOT ...,
chains of casts) end in sqlglot's RecursionError, which is refused the same way, without a log.
sqlglot also backtracks exponentially on a few nestings (ARRAY[ARRAY[...]], STRUCT(STRUCT(...)):
16 levels cost seconds of CPU. The parser therefore runs on a step budget proportional to the
number of tokens, and SQL that exhausts it is refused.

This layer is not the only one: connectors also run the query in a read-only transaction
where the warehouse has one, with a statement timeout and a small fetch, under a role that
should hold no privileges beyond reading the tables its checks need.
"""

import logging
import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from checks.sql_errors import parse_error_sentence, token_error_sentence

# The sqlglot dialect for each catalog connection type.
DIALECTS = {"postgres": "postgres", "sqlite": "sqlite", "snowflake": "snowflake", "bigquery": "bigquery"}

MAX_SQL_LENGTH = 20_000
# Real checks nest a handful of levels; sqlglot's recursive descent runs out of stack near 45.
MAX_NESTING = 32
# sqlglot backtracks, exponentially so on some nestings (ARRAY[ARRAY[..., STRUCT(STRUCT(...): the parser may
# move over tokens at most this many times per token (plain checks need under 4), plus a constant.
PARSE_STEPS_PER_TOKEN = 8
PARSE_STEPS_BASE = 2_000

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
    exp.DynamicIdentifier: "IDENTIFIER(...) (a name taken from a string cannot be checked)",
    exp.Command: "a statement that is not a query",
}

# Functions a check may not call, in any dialect (over-refusing a name another warehouse does not
# have costs nothing). Lower-case names; a trailing "*" is a prefix. pg_sleep stays allowed: the
# statement timeout bounds it. The sqlite connector's authorizer consults the same list at run time.
_FORBIDDEN_FUNCTIONS = {
    # PostgreSQL: server files and directories, the server log
    "pg_read_*",
    "pg_ls_*",
    "pg_stat_file",
    "pg_file_*",
    "pg_logdir_ls",
    "pg_current_logfile",
    # PostgreSQL: large objects (server-side lo_import/lo_export read and write files)
    "lo_*",
    "loread",
    "lowrite",
    # PostgreSQL: SQL given as a string (run unchecked), other databases, whole tables by name
    "ts_stat",
    "ts_rewrite",
    "query_to_xml*",
    "query_to_json*",
    "cursor_to_xml*",
    "database_to_xml*",
    "schema_to_xml*",
    "table_to_xml*",
    "xmlexists_query",
    "dblink*",
    # PostgreSQL: settings (read or changed)
    "set_config",
    "current_setting",
    "pg_reload_conf",
    # PostgreSQL: other sessions, advisory locks (they outlive the check), notifications
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_advisory*",
    "pg_try_advisory*",
    "pg_notify",
    # PostgreSQL: server state, WAL, backups, replication, statistics
    "pg_rotate_logfile",
    "pg_promote",
    "pg_log_*",
    "pg_backup_*",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_switch_wal",
    "pg_switch_xlog",
    "pg_wal_*",
    "pg_xlog_*",
    "pg_create_*",
    "pg_drop_*",
    "pg_copy_*",
    "pg_replication_*",
    "pg_logical_*",
    "pg_sync_replication_slots",
    "pg_import_*",
    "pg_stat_reset*",
    "pg_stat_statements_reset",
    "pg_extension_config_dump",
    "pg_truncate_visibility_map",
    "get_raw_page",
    # PostgreSQL: transaction ids (calling them assigns one) and sequences
    "txid_*",
    "pg_current_xact_id*",
    "nextval",
    "setval",
    "currval",
    "lastval",
    # SQLite: extensions and files (the latter exist in the sqlite3 shell and some builds)
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "fsdir",
    # Snowflake: system functions act on the account (cancel queries, alter pipes...); stage URLs;
    # IDENTIFIER() takes a name from a string
    "system$*",
    "get_presigned_url",
    "build_scoped_file_url",
    "build_stage_file_url",
    "identifier",
    # BigQuery: federated queries run SQL on another database
    "external_query",
}
_FORBIDDEN_EXACT = frozenset(name for name in _FORBIDDEN_FUNCTIONS if not name.endswith("*"))
_FORBIDDEN_PREFIXES = tuple(name[:-1] for name in _FORBIDDEN_FUNCTIONS if name.endswith("*"))

_OPENING = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSING = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}
# Strings whose extent in PostgreSQL depends on standard_conforming_strings.
_PLAIN_STRINGS = {TokenType.STRING, TokenType.NATIONAL_STRING}
_NAME = re.compile(r"[\w$]+")
_ANSI_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")

# sqlglot warns on the logger when it falls back to `Command`; the refusal says it to the caller.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class UnsafeSQL(ValueError):
    """The SQL is refused; the message says why, for the caller."""


class _ParseBudgetSpent(Exception):
    # Not a sqlglot ParseError: the parser catches those to backtrack, and must not catch this one.
    pass


_BUDGETED_PARSERS: dict[str, type] = {}


def _budgeted_parser(dialect: str, steps: int):
    """The dialect's own parser, stopped once it has moved over tokens `steps` times."""
    dialect_object = Dialect.get_or_raise(dialect)
    parser_class = _BUDGETED_PARSERS.get(dialect)
    if parser_class is None:
        base = dialect_object.parser_class

        class BudgetedParser(base):
            steps_left = 0

            def _advance(self, times=1):
                self.steps_left -= 1
                if self.steps_left < 0:
                    raise _ParseBudgetSpent()
                super()._advance(times)

        parser_class = _BUDGETED_PARSERS.setdefault(dialect, BudgetedParser)
    parser = parser_class(dialect=dialect_object)
    parser.steps_left = steps
    return parser


@dataclass(frozen=True)
class CheckedSQL:
    sql: str
    dialect: str


def _is_forbidden_function(name: str) -> bool:
    """Whether a lower-case function name (no quotes, no schema) is on the deny-list."""
    return name in _FORBIDDEN_EXACT or name.startswith(_FORBIDDEN_PREFIXES)


def decode_unicode_escapes(text: str, escape: str = "\\") -> str:
    """PostgreSQL's U&"..." decoding: escape+hhhh, escape+'+'+hhhhhh (hex digits), a doubled escape is itself."""
    pattern = re.compile(re.escape(escape) + r"(?:\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4})|(" + re.escape(escape) + "))")

    def replace(match: re.Match) -> str:
        if match.group(3):
            return escape
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return pattern.sub(replace, text)


def normalize_name(name: str) -> str:
    """A function name as the deny-list spells it: unquoted, lower-case, its last dotted part."""
    return str(name).strip().strip('"`[]').lower().rsplit(".", 1)[-1].strip('"`[]')


def _names_of(node: exp.Func) -> set[str]:
    if isinstance(node, exp.Anonymous):
        return {normalize_name(node.name)}
    # A function sqlglot knows under its own class: its canonical name and every name it parses from.
    return {normalize_name(name) for name in (node.sql_name(), *type(node).sql_names())}


def _refuse_function(name: str) -> None:
    raise UnsafeSQL(f"The SQL calls {name}(), which a check may not use.")


def _tokenize(sql: str, dialect: str) -> list[Token]:
    try:
        return Dialect.get_or_raise(dialect).tokenize(sql)
    except SqlglotError as exc:
        message = token_error_sentence(exc, sql) if isinstance(exc, TokenError) else _first_line(exc)
        raise UnsafeSQL(f"The SQL could not be read as {dialect} SQL, so it cannot be verified: {message}.") from None


def _first_line(exc: Exception) -> str:
    return _ANSI_ESCAPES.sub("", str(exc)).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _adjacent(first: Token, second: Token) -> bool:
    return second.start == first.end + 1


def _check_tokens(tokens: list[Token], dialect: str) -> None:
    """Checks that need the SQL as the server's lexer sees it, before anything recurses."""
    depth = 0
    for index, token in enumerate(tokens):
        kind = token.token_type
        if kind in _OPENING:
            depth += 1
            if depth > MAX_NESTING:
                raise UnsafeSQL(f"The SQL nests brackets more than {MAX_NESTING} levels deep; a check may not.")
        elif kind in _CLOSING:
            depth = max(0, depth - 1)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if dialect == "postgres":
            _check_postgres_token(tokens, index)
        if following is not None and following.token_type == TokenType.L_PAREN and _is_name_token(token):
            name = normalize_name(token.text)
            if _is_forbidden_function(name) or _is_forbidden_function(str(token.text).lower()):
                _refuse_function(name)


def _is_name_token(token: Token) -> bool:
    return token.token_type == TokenType.IDENTIFIER or bool(_NAME.fullmatch(token.text))


def _check_postgres_token(tokens: list[Token], index: int) -> None:
    token = tokens[index]
    if token.token_type == TokenType.UNICODE_STRING:
        raise UnsafeSQL("The SQL uses a U&'...' escaped string; write the characters themselves.")
    if (
        token.token_type == TokenType.AMP
        and 0 < index < len(tokens) - 1
        and tokens[index - 1].text.upper() == "U"
        and _adjacent(tokens[index - 1], token)
        and _adjacent(token, tokens[index + 1])
        and tokens[index + 1].token_type in (TokenType.IDENTIFIER, *_PLAIN_STRINGS)
    ):
        escape = _uescape_of(tokens, index + 2)
        decoded = normalize_name(decode_unicode_escapes(tokens[index + 1].text, escape))
        if _is_forbidden_function(decoded):
            _refuse_function(decoded)
        raise UnsafeSQL(
            f'The SQL uses a U&"..." escaped identifier (it reads "{decoded[:63]}"); write the name itself.'
        )
    if token.token_type in _PLAIN_STRINGS and ("\\'" in token.text or token.text.endswith("\\")):
        raise UnsafeSQL(
            "The SQL has a string with a backslash before a quote; whether the string ends there depends on "
            "the warehouse's standard_conforming_strings, so it cannot be verified. Use E'...' instead."
        )


def _uescape_of(tokens: list[Token], index: int) -> str:
    if (
        index + 1 < len(tokens)
        and tokens[index].text.upper() == "UESCAPE"
        and tokens[index + 1].token_type == TokenType.STRING
        and len(tokens[index + 1].text) == 1
    ):
        return tokens[index + 1].text
    return "\\"


def _check_tree(statement: exp.Expr) -> None:
    for node in statement.walk():
        for node_type, label in _FORBIDDEN_NODES.items():
            if isinstance(node, node_type):
                raise UnsafeSQL(f"The SQL contains {label}; a check may only read.")
        if isinstance(node, exp.Func):
            for name in _names_of(node):
                if _is_forbidden_function(name):
                    _refuse_function(name)


def check_read_only(sql: str, connection_type: str) -> CheckedSQL:
    """Returns the SQL if it is exactly one read-only query in the connection's dialect; raises UnsafeSQL."""
    dialect = DIALECTS.get(connection_type)
    if dialect is None:
        raise UnsafeSQL(f"Unknown connection type {connection_type!r}.")
    if not isinstance(sql, str) or not sql.strip():
        raise UnsafeSQL("The SQL is empty.")
    if len(sql) > MAX_SQL_LENGTH:
        raise UnsafeSQL(f"The SQL is longer than {MAX_SQL_LENGTH} characters.")
    tokens = _tokenize(sql, dialect)
    _check_tokens(tokens, dialect)
    try:
        # The tokens just checked are the ones parsed: the parser cannot see another statement.
        parser = _budgeted_parser(dialect, PARSE_STEPS_BASE + PARSE_STEPS_PER_TOKEN * len(tokens))
        parsed = parser.parse(tokens, sql)
        statements = [statement for statement in parsed if statement is not None]
        if len(statements) == 1:
            _check_tree(statements[0])
    except SqlglotError as exc:
        message = parse_error_sentence(exc) if isinstance(exc, ParseError) else _first_line(exc)
        raise UnsafeSQL(f"The SQL could not be parsed as {dialect} SQL, so it cannot be verified: {message}.") from None
    except RecursionError:
        # Deep nesting without brackets (NOT NOT ..., long cast chains): refused, with no traceback logged.
        raise UnsafeSQL("The SQL is nested too deeply to be verified.") from None
    except _ParseBudgetSpent:
        raise UnsafeSQL("The SQL is too intricate to be verified in reasonable time; simplify its nesting.") from None
    if not statements:
        raise UnsafeSQL("The SQL contains no statement.")
    if len(statements) > 1:
        raise UnsafeSQL(f"The SQL must be exactly one statement; it contains {len(statements)}.")
    statement = statements[0]
    if not isinstance(statement, _QUERY_ROOTS):
        raise UnsafeSQL(f"The SQL must be a SELECT query; it is {statement.key.upper()}.")
    return CheckedSQL(sql=sql.strip().rstrip(";").strip(), dialect=dialect)
