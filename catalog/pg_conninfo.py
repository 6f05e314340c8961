"""The libpq parameters a tenant may choose for a postgres connection, read with libpq's own parser.

A DSN (a postgresql:// URL or a key=value string) is parsed by libpq itself
(psycopg.conninfo.conninfo_to_dict), so the catalog sees exactly what libpq would use, including a
`host` hidden in a URL's query string. Only the parameters in ALLOWED_PARAMETERS pass: the others
let a tenant pick session settings (`options`), read the catalog's local files (`passfile`,
`service`, `sslkey`, `sslcert`, `sslrootcert` other than `system`, `sslcrl`...), choose the socket
(`hostaddr`, several hosts) or use the catalog host's Kerberos credentials. The connector sets
everything else itself (checks/connectors/postgres.py).
"""

from dataclasses import dataclass, field

import psycopg
import psycopg.conninfo

# host, port, dbname, user, password: the target; the rest only tighten TLS or are replaced by the connector
# (connect_timeout is bounded by the catalog, application_name is replaced by the check's own).
ALLOWED_PARAMETERS = (
    "host",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "channel_binding",
    "connect_timeout",
    "application_name",
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
CHANNEL_BINDINGS = ("disable", "prefer", "require")
DEFAULT_PORT = 5432


class ConninfoProblem(ValueError):
    """A parameter breaks a rule; the message names it and never quotes a value that may be secret."""


@dataclass(frozen=True)
class Target:
    """A postgres connection's destination and the TLS choices the tenant may make."""

    host: str | None
    port: int
    dbname: str | None
    user: str | None
    password: str | None = None
    tls: dict = field(default_factory=dict)  # sslmode, sslrootcert (only "system"), channel_binding


def dsn_parameters(dsn: str) -> dict:
    """libpq's reading of a DSN; ConninfoProblem when it cannot be read (libpq's message quotes the DSN)."""
    try:
        return psycopg.conninfo.conninfo_to_dict(dsn)
    except (psycopg.Error, TypeError, ValueError):
        raise ConninfoProblem("dsn: is neither a valid postgresql:// URL nor a libpq key=value string.") from None


def parameter_problem(name: str, value) -> str | None:
    """Why libpq parameter `name` (set to `value`) is refused, or None."""
    if name not in ALLOWED_PARAMETERS:
        allowed = ", ".join(ALLOWED_PARAMETERS)
        return (
            f"the libpq parameter {name!r} is not allowed (the catalog sets its own session and files); "
            f"allowed: {allowed}."
        )
    if name == "sslmode" and value not in SSL_MODES:
        return f"sslmode must be one of {', '.join(SSL_MODES)}."
    if name == "sslrootcert" and value != "system":
        return "sslrootcert may only be 'system' (the system's trusted CAs); the catalog's files are not for tenants."
    if name == "channel_binding" and value not in CHANNEL_BINDINGS:
        return f"channel_binding must be one of {', '.join(CHANNEL_BINDINGS)}."
    return None


def _port(value) -> int:
    if value is None or value == "":
        return DEFAULT_PORT
    text = str(value).strip()
    if "," in text:
        raise ConninfoProblem("port: names several hosts or ports; give exactly one host and port.")
    # ASCII digits only: str.isdigit() also holds for '²' (int() then raises) and for Arabic-Indic digits.
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= 65535:
        raise ConninfoProblem("port: must be a port number (1-65535).")
    return int(text)


def target_from_config(config: dict) -> Target:
    """The destination of a (resolved or stored) postgres config: its DSN read by libpq, overridden by
    the config's own host/port/database/user/password/sslmode keys. Raises ConninfoProblem."""
    parameters: dict = {}
    dsn = config.get("dsn")
    if dsn is not None:
        if not isinstance(dsn, str):
            raise ConninfoProblem("dsn: must be a string.")
        parameters = dsn_parameters(dsn)
        for name, value in parameters.items():
            problem = parameter_problem(name, value)
            if problem:
                raise ConninfoProblem(f"dsn: {problem}")
    overrides = {
        "host": "host",
        "port": "port",
        "database": "dbname",
        "user": "user",
        "password": "password",
        "sslmode": "sslmode",
    }
    for key, name in overrides.items():
        if config.get(key) not in (None, ""):
            parameters[name] = config[key] if key == "port" else str(config[key])
    if "sslmode" in parameters and parameters["sslmode"] not in SSL_MODES:
        raise ConninfoProblem(f"sslmode: must be one of {', '.join(SSL_MODES)}.")
    tls = {name: parameters[name] for name in ("sslmode", "sslrootcert", "channel_binding") if parameters.get(name)}
    return Target(
        host=parameters.get("host"),
        port=_port(parameters.get("port")),
        dbname=parameters.get("dbname") or parameters.get("user"),  # libpq's default database is the user's name
        user=parameters.get("user"),
        password=parameters.get("password"),
        tls=tls,
    )
