"""Per-type validation of connection configs, and the display form of a stored config.

Each type has required keys, optional keys, and any `*_secret` key (a reference, never a value).
Unknown keys are refused: an allow-list is what keeps a secret from hiding under an unexpected
name (`pwd`, `token`, ...) in the stored, displayed config.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from catalog import dsn as dsn_tools
from catalog import egress, pg_conninfo, sqlite_paths
from catalog.models import ConnectionType
from catalog.secrets import SECRET_SUFFIX, reference_problem

_POSTGRES_FIELDS = ("host", "database", "user")
# No `options` (nor any other libpq parameter): the catalog sets the session itself (catalog/pg_conninfo.py).
_POSTGRES_OPTIONAL = ("port", "sslmode", "connect_timeout", "application_name", "schema", "dsn")
REQUIRED = {
    ConnectionType.SQLITE: ("path",),
    ConnectionType.SNOWFLAKE: ("account", "user", "warehouse", "database", "schema", "role"),
    ConnectionType.BIGQUERY: ("project", "location", "dataset", "maximum_bytes_billed"),
}
# Every type: how long one check statement may run (seconds, a number), read by the checks connectors.
_ANY_TYPE = ("statement_timeout_seconds",)
OPTIONAL = {
    ConnectionType.POSTGRES: (*_POSTGRES_FIELDS, *_POSTGRES_OPTIONAL, *_ANY_TYPE),
    ConnectionType.SQLITE: _ANY_TYPE,
    ConnectionType.SNOWFLAKE: ("authenticator", "query_tag", "login_timeout", *_ANY_TYPE),
    ConnectionType.BIGQUERY: ("job_timeout_seconds", "labels", *_ANY_TYPE),
}
NUMBER_KEYS = {"statement_timeout_seconds"}
_SNOWFLAKE_ACCOUNT = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,3}")
SNOWFLAKE_AUTHENTICATORS = {"snowflake", "snowflake_jwt", "oauth"}
INTEGER_KEYS = {
    "port",
    "connect_timeout",
    "maximum_bytes_billed",
    "login_timeout",
    "job_timeout_seconds",
}


@dataclass(frozen=True)
class CleanConfig:
    config: dict
    # A password found in the DSN (moved out of `config`), or None.
    dsn_password: str | None


def _fail(key: str, message: str):
    raise ValidationError({"config": [f"{key}: {message}"]})


def _check_value(key: str, value, organization):
    if key.endswith(SECRET_SUFFIX):
        problem = reference_problem(value, organization)
        if problem:
            _fail(key, problem)
        return
    if key in NUMBER_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
            _fail(key, "must be a positive number of seconds.")
        return
    if key in INTEGER_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            _fail(key, "must be a positive integer.")
        if key == "port" and value > 65535:
            _fail(key, "must be a port number (1-65535).")
        return
    if key == "labels":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            _fail(key, "must be an object of string values.")
        return
    if not isinstance(value, str) or not value.strip():
        _fail(key, "must be a non-empty string.")
    if key == "account" and not _SNOWFLAKE_ACCOUNT.fullmatch(value):
        # The connector builds https://<account>.snowflakecomputing.com: a `/`, `@` or `#` would send the login
        # (and its password) to a host the tenant chose.
        _fail(key, "must be a Snowflake account identifier (letters, digits, _ and -, dot-separated parts).")
    if key == "authenticator" and value.strip().lower() not in SNOWFLAKE_AUTHENTICATORS:
        # An https:// authenticator is Okta native SSO: the password would be posted to that URL.
        _fail(key, f"must be one of {', '.join(sorted(SNOWFLAKE_AUTHENTICATORS))} (never a URL).")


def _check_destination(config: dict) -> None:
    """The libpq parameters and the egress policy (catalog/egress.py), as far as they are known now: a host,
    user or database given as a secret reference, or a name that does not resolve yet, is decided at execution."""
    try:
        target = pg_conninfo.target_from_config(config)
    except pg_conninfo.ConninfoProblem as exc:
        raise ValidationError({"config": [str(exc)]}) from None
    where = "dsn" if "dsn" in config and "host" not in config else "host"
    if target.user is None and "user_secret" not in config:
        _fail(where if where == "dsn" else "user", "must name the user (libpq would pick the catalog's own).")
    if target.host is None and "host_secret" in config:
        return
    problem = egress.host_problem(target.host)
    if problem:
        _fail(where, f"host {problem}")
    dbname = None if "database_secret" in config and "database" not in config else target.dbname
    try:
        egress.check_destination(target.host, target.port, dbname)
    except egress.Unresolvable:
        return
    except egress.EgressRefused as exc:
        _fail(where, str(exc))


def _validate_postgres(config: dict) -> str | None:
    """Returns a password taken out of the DSN (config["dsn"] is rewritten without it)."""
    if "sslmode" in config and config["sslmode"] not in pg_conninfo.SSL_MODES:
        _fail("sslmode", f"must be one of {', '.join(pg_conninfo.SSL_MODES)}.")
    if "dsn" in config:
        extra = [key for key in _POSTGRES_FIELDS if key in config]
        if extra:
            _fail("dsn", f"give either a dsn or {'/'.join(_POSTGRES_FIELDS)}, not both ({', '.join(extra)}).")
        dsn = config["dsn"]
        if dsn_tools.has_ssl_password(dsn):
            _fail("dsn", "may not carry an sslpassword: it would be stored and shown as plain text.")
        if dsn_tools.is_url_dsn(dsn):
            stripped, password = dsn_tools.split_password(dsn)
            if password is not None and "password_secret" in config:
                _fail("dsn", "has a password and password_secret is set too; keep only one.")
            _check_destination(config)
            config["dsn"] = stripped
            return password
        if dsn.strip().lower().startswith(tuple(f"{scheme}://" for scheme in dsn_tools.URL_SCHEMES)):
            # Unparseable, its password could not be taken out: stored as is, it would be shown in responses.
            _fail("dsn", "is not a well-formed postgresql:// URL.")
        if "=" not in dsn:
            _fail("dsn", "must be a postgresql:// URL or a libpq key=value string.")
        if dsn_tools.keyvalue_dsn_has_password(dsn):
            _fail("dsn", "a key=value DSN may not carry a password; put a reference in password_secret.")
        _check_destination(config)
        return None
    missing = [key for key in _POSTGRES_FIELDS if key not in config]
    if missing:
        _fail(", ".join(missing), "required (or give a dsn).")
    _check_destination(config)
    return None


def validate_config(connection_type: str, config, *, organization) -> CleanConfig:
    """The config cleaned for storing, or ValidationError naming the key and the rule it breaks.
    `organization` owns the connection: secret references must lie in its own namespace."""
    if connection_type not in ConnectionType.values:
        choices = ", ".join(ConnectionType.values)
        raise ValidationError({"type": [f"Unknown type {connection_type!r}; one of {choices}."]})
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Must be a JSON object."]})
    config = dict(config)
    allowed = set(REQUIRED.get(connection_type, ())) | set(OPTIONAL[connection_type])
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            _fail(repr(key), "keys must be non-empty strings.")
        if key not in allowed and not key.endswith(SECRET_SUFFIX):
            _fail(
                key,
                f"unknown key for a {connection_type} connection; allowed: {', '.join(sorted(allowed))} "
                f"and *_secret references (a secret goes in {key}_secret as a reference to the organization's own "
                "secret, env:DATAXPIPE_SECRET_<ORG>_NAME or vault:MOUNT/<prefix>/<org-slug>/PATH#FIELD).",
            )
        _check_value(key, value, organization)
    missing = [key for key in REQUIRED.get(connection_type, ()) if key not in config]
    if missing:
        _fail(", ".join(missing), "required.")
    if (
        connection_type == ConnectionType.BIGQUERY
        and "credentials_secret" not in config
        and not settings.DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS
    ):
        # Without its own key the connection would query with the catalog's own Google identity.
        _fail("credentials_secret", "required: a reference to the organization's own service-account key.")
    if connection_type == ConnectionType.SQLITE:
        try:
            sqlite_paths.resolve(config["path"], organization)
        except sqlite_paths.SqlitePathRefused as exc:
            _fail("path", str(exc))
    password = _validate_postgres(config) if connection_type == ConnectionType.POSTGRES else None
    return CleanConfig(config=config, dsn_password=password)


def display_config(connection) -> dict:
    """The stored config as responses and the admin show it: references as written, passwords masked."""
    shown = dict(connection.config)
    dsn = shown.get("dsn")
    if isinstance(dsn, str) and connection.encrypted_dsn_password:
        shown["dsn"] = dsn_tools.masked(dsn)
    return shown
