"""Opening a PostgreSQL warehouse session the tenant cannot shape.

libpq reads much more than a DSN: the catalog process's environment (PGOPTIONS, PGPASSWORD,
PGPASSFILE, PGSERVICE, PGSSLCERT, PGGSSENCMODE...) and files in its home (~/.pgpass,
~/.postgresql/postgresql.crt and .key). Every parameter that could send a catalog secret to a
tenant's server or let a tenant choose the session is passed explicitly here, so neither the
environment nor a service file fills it:
- the socket: `hostaddr` = the address the egress policy checked, `host` kept for TLS (SNI and
  verify-full), one port, no load balancing or session-attribute games;
- the login: the connection's own user and password only (`password` "" when it has none) and a
  `passfile` that is an empty private file, so ~/.pgpass is never read; no client certificate
  (`sslcertmode=disable`), no GSSAPI encryption, no credential delegation, no GSS/SSPI login;
- the session: `options` sets read-only transactions, standard_conforming_strings=on (the check
  SQL parser and the server agree on literals), statement and idle-in-transaction timeouts.
After the login the role is checked once per physical session: a superuser, a member of a superuser
role or of pg_read_server_files / pg_write_server_files / pg_execute_server_program is refused
(unless DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES).
"""

import functools
import logging
import math
import os
import tempfile

import psycopg
from django.conf import settings

from catalog.egress import Destination
from catalog.pg_conninfo import Target
from checks.connectors.base import WarehouseUnavailable

logger = logging.getLogger(__name__)

# One message for every way a connection can fail (refused, timed out, not PostgreSQL, TLS, login refused,
# unknown database): distinct messages would turn the API into a port scanner.
CONNECT_FAILED = "Could not connect to the warehouse or it refused the login."
CONNECT_TIMEOUT_SECONDS = 5
PRIVILEGED_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
LEAST_PRIVILEGE_HINT = (
    "create a role for checks instead: CREATE ROLE dataxpipe_checker LOGIN; "
    "GRANT CONNECT ON DATABASE <db> TO dataxpipe_checker; GRANT USAGE ON SCHEMA <schema> TO dataxpipe_checker; "
    "GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO dataxpipe_checker (docs/security.md)"
)
_ROLE_CHECK = """
SELECT r.rolsuper,
       ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_roles g
             WHERE g.oid <> r.oid AND (g.rolsuper OR g.rolname = ANY(%s))
               AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')
             ORDER BY 1),
       pg_catalog.current_setting('standard_conforming_strings'),
       pg_catalog.current_setting('default_transaction_read_only')
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
"""


@functools.cache
def empty_passfile() -> str:
    """An empty, private password file: libpq reads it instead of the catalog's ~/.pgpass or PGPASSFILE.
    (os.devnull would do too, but libpq warns on stderr at every connection that it is not a plain file.)"""
    directory = tempfile.mkdtemp(prefix="dataxpipe-libpq-")
    path = os.path.join(directory, "pgpass")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w"):
        pass
    return path


def session_options(timeout_seconds: float) -> str:
    timeout_ms = max(1, int(timeout_seconds * 1000))
    idle_ms = max(1000, timeout_ms * 2)
    return (
        "-c default_transaction_read_only=on -c standard_conforming_strings=on "
        f"-c statement_timeout={timeout_ms} -c idle_in_transaction_session_timeout={idle_ms}"
    )


def connect_parameters(target: Target, destination: Destination, *, label: str, timeout_seconds: float) -> dict:
    """Every libpq parameter of a check session, pinned (see the module docstring)."""
    tls = target.tls
    parameters = {
        "host": ",".join([destination.host] * len(destination.addresses)),
        "hostaddr": ",".join(destination.addresses),
        "port": str(destination.port),
        "dbname": target.dbname,
        "user": target.user,
        "password": target.password or "",
        "passfile": empty_passfile(),
        "sslmode": tls.get("sslmode", "prefer"),
        "channel_binding": tls.get("channel_binding", "prefer"),
        "sslcertmode": "disable",
        "sslnegotiation": "postgres",
        "gssencmode": "disable",
        "gssdelegation": "0",
        "require_auth": "!gss,!sspi",
        "target_session_attrs": "any",
        "load_balance_hosts": "disable",
        "client_encoding": "UTF8",
        "options": session_options(timeout_seconds),
        "application_name": f"dataxpipe-check:{label}"[:63],
        "connect_timeout": str(min(CONNECT_TIMEOUT_SECONDS, max(1, math.ceil(timeout_seconds)))),
        # A server that vanishes mid-query (no answer, no reset) is noticed a few seconds after the statement
        # timeout would have fired, instead of after the kernel's two hours.
        "keepalives": "1",
        "keepalives_idle": str(math.ceil(timeout_seconds) + 5),
        "keepalives_interval": "2",
        "keepalives_count": "3",
    }
    if tls.get("sslrootcert") == "system":
        parameters["sslrootcert"] = "system"
    return parameters


def open_session(target: Target, destination: Destination, *, label: str, timeout_seconds: float):
    """A psycopg connection to the checked address, its role verified; WarehouseUnavailable otherwise."""
    parameters = connect_parameters(target, destination, label=label, timeout_seconds=timeout_seconds)
    try:
        # No automatic server-side prepared statements: sessions are reset with DISCARD ALL after each check.
        session = psycopg.connect(**parameters, prepare_threshold=None)
    except psycopg.Error as exc:
        # The class and SQLSTATE help the operator; the message may quote the server or a secret.
        logger.info("warehouse %s: connect failed (%s %s)", label, type(exc).__name__, getattr(exc, "sqlstate", ""))
        raise WarehouseUnavailable(CONNECT_FAILED) from None
    try:
        check_session(session, target.user)
    except BaseException:
        session.close()
        raise
    return session


def check_session(session, user: str | None) -> None:
    """Refuses a privileged role, and a server that did not take the catalog's session settings."""
    try:
        with session.cursor() as cursor:
            cursor.execute(_ROLE_CHECK, (list(PRIVILEGED_ROLES),))
            row = cursor.fetchone()
        session.rollback()
    except psycopg.Error:
        raise WarehouseUnavailable(CONNECT_FAILED) from None
    if row is None:
        raise WarehouseUnavailable(CONNECT_FAILED)
    superuser, memberships, conforming, read_only = row
    if conforming != "on" or read_only != "on":
        raise WarehouseUnavailable("The warehouse did not apply the catalog's session settings; nothing was run.")
    if getattr(settings, "DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES", False):
        return
    if superuser or memberships:
        what = "a superuser" if superuser else f"a member of {', '.join(memberships)}"
        raise WarehouseUnavailable(
            f"The warehouse role {user!r} is {what}; checks never run with a privileged role: {LEAST_PRIVILEGE_HINT}."
        )
