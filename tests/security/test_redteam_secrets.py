"""Red-team findings on secrets, replayed: each attack must fail the way a hostile tenant would notice.

- `env:` references reaching the platform's environment (DJANGO_SECRET_KEY, DATABASE_URL) or another
  organization's variables: refused at registration (400 naming the rule) and, stored directly as legacy
  rows, never resolved at execution. The target is `AttackerPostgres`, a fake PostgreSQL server that
  records every password it is sent: it must record none.
- `vault:` references to another organization's path: refused at registration and at resolution; the fake
  Vault (a local HTTP server speaking Vault's KV v2 wire protocol, tests/security/fake_vault.py, since
  Vault cannot run here) records that it was never asked.
- SQLite: org B's connection to org A's file (relative, absolute, symlink) is refused.
- The masked DSN sent back with a new host: the stored password never travels there.
- Error messages echoing a resolved secret truncated (PostgreSQL cuts identifiers at 63 characters),
  folded or encoded: masked, against a real PostgreSQL server.
"""

import logging
import os
import sqlite3

import pytest

from catalog.models import Connection
from checks.connectors import clear_cache
from checks.models import CheckResult
from config.logging import RedactSecretsFilter, forget_secrets, redact_values, remember_secret
from tests.security.attacker_pg import AttackerPostgres
from tests.security.fake_vault import TOKEN, FakeVault

pytestmark = pytest.mark.django_db

ORG_A_VAULT_PATH = "dataxpipe/org-a/warehouses/pg"
ORG_A_VAULT_PASSWORD = "org-a-vault-only-password-7Qx"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    """The attackers and the real test server listen on loopback, which the egress policy allows only when
    the operator lists it."""
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    clear_cache()
    forget_secrets()
    yield
    clear_cache()
    forget_secrets()


@pytest.fixture
def attacker():
    with AttackerPostgres() as server:
        yield server


def create(client, config, connection_id="evil", connection_type="postgres"):
    return client.post(
        "/api/v1/connections/", {"id": connection_id, "type": connection_type, "config": config}, format="json"
    )


def execute(client, connection_id="evil"):
    return client.post(
        "/api/v1/checks/execute", {"connection_id": connection_id, "sql": "SELECT 0", "check_id": "c"}, format="json"
    )


def legacy_row(organization, config, connection_id="evil", connection_type="postgres"):
    """A row stored before the rules existed (or written around the API)."""
    return Connection.objects.create(
        organization=organization, connection_id=connection_id, type=connection_type, config=config
    )


# --- env: ------------------------------------------------------------------------------------------


PLATFORM_REFERENCES = [
    ("password_secret", "env:DJANGO_SECRET_KEY"),
    ("dsn_secret", "env:DATABASE_URL"),
    ("password_secret", "env:DATAXPIPE_SECRET_ORG_B_PW"),
]


@pytest.mark.parametrize(("key", "reference"), PLATFORM_REFERENCES)
def test_platform_and_other_org_env_references_are_refused_at_registration(client_a, org_b, attacker, key, reference):
    config = {"host": attacker.host, "port": attacker.port, "database": "x", "user": "x", key: reference}
    response = create(client_a, config)
    assert response.status_code == 400, response.content
    assert "DATAXPIPE_SECRET_ORG_A_<NAME>" in response.json()["config"][0]
    assert not Connection.objects.unscoped().exists()


@pytest.mark.parametrize(("key", "reference"), PLATFORM_REFERENCES)
def test_legacy_rows_with_such_references_never_resolve(
    client_a, org_a, org_b, attacker, monkeypatch, settings, key, reference
):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_B_PW", "org-b-env-password-value")
    config = {"host": attacker.host, "port": attacker.port, "database": "x", "user": "x", key: reference}
    legacy_row(org_a, config)
    response = execute(client_a)
    assert response.status_code == 400, response.content
    assert "breaks the rule" in response.json()["connection_id"][0]
    assert attacker.attempts == [] and attacker.passwords == []
    assert settings.SECRET_KEY not in response.content.decode()
    assert not CheckResult.objects.unscoped().exists()


def test_the_attacker_server_does_record_a_password_it_is_sent(client_a, org_a, attacker):
    """The harness works: a tenant's own password, sent to the server it names, is recorded."""
    dsn = f"postgresql://x:own-password-of-org-a@{attacker.host}:{attacker.port}/x"
    assert create(client_a, {"dsn": dsn}).status_code == 201
    assert execute(client_a).status_code == 502
    assert attacker.passwords == ["own-password-of-org-a"]


# --- vault: ------------------------------------------------------------------------------------------


@pytest.fixture
def vault(monkeypatch):
    with FakeVault({("secret", ORG_A_VAULT_PATH): {"password": ORG_A_VAULT_PASSWORD}}) as server:
        monkeypatch.setenv("VAULT_ADDR", server.address)
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)
        yield server


@pytest.mark.parametrize(
    "reference",
    [
        f"vault:secret/{ORG_A_VAULT_PATH}#password",
        "vault:secret/dataxpipe/org-b/../org-a/warehouses/pg#password",
        "vault:secret/dataxpipe/org-b/./../org-a/warehouses/pg#password",
    ],
)
def test_org_b_cannot_reach_org_as_vault_secret(client_b, org_a, org_b, vault, attacker, reference):
    config = {"host": attacker.host, "port": attacker.port, "database": "x", "user": "x", "password_secret": reference}
    response = create(client_b, config)
    assert response.status_code == 400, response.content
    assert "dataxpipe/org-b/" in response.json()["config"][0]
    legacy_row(org_b, config)
    response = execute(client_b)
    assert response.status_code == 400, response.content
    assert vault.requests == []
    assert attacker.passwords == []
    assert ORG_A_VAULT_PASSWORD not in response.content.decode()


def test_org_a_reads_its_own_vault_secret(client_a, org_a, vault, attacker):
    config = {
        "host": attacker.host,
        "port": attacker.port,
        "database": "x",
        "user": "x",
        "password_secret": f"vault:secret/{ORG_A_VAULT_PATH}#password",
    }
    assert create(client_a, config).status_code == 201
    assert execute(client_a).status_code == 502
    # Resolved when the execution is asked for (its rules answer 400 at once) and again by the worker that runs it.
    assert set(vault.paths_asked()) == {f"/v1/secret/data/{ORG_A_VAULT_PATH}"}
    assert attacker.passwords == [ORG_A_VAULT_PASSWORD]


# --- SQLite ------------------------------------------------------------------------------------------


def test_org_b_cannot_open_org_as_sqlite_file(client_b, org_a, org_b, warehouse_dir):
    a_dir, b_dir = warehouse_dir / "org-a", warehouse_dir / "org-b"
    a_dir.mkdir()
    b_dir.mkdir()
    a_file = a_dir / "x.sqlite3"
    with sqlite3.connect(a_file) as connection:
        connection.execute("CREATE TABLE t (secret TEXT)")
    connection.close()
    (b_dir / "link.sqlite3").symlink_to(a_file)
    for name, path in [
        ("rel", "../org-a/x.sqlite3"),
        ("abs", str(a_file)),
        ("link", "link.sqlite3"),
        ("abslink", str(b_dir / "link.sqlite3")),
    ]:
        response = create(client_b, {"path": path}, connection_id=name, connection_type="sqlite")
        assert response.status_code == 400, (name, response.content)
        assert "<allowed dir>/org-b/" in response.json()["config"][0]
        legacy_row(org_b, {"path": path}, connection_id=name, connection_type="sqlite")
        response = execute(client_b, connection_id=name)
        assert response.status_code == 400, (name, response.content)
    assert not CheckResult.objects.unscoped().exists()


# --- The masked DSN sent back with a new host ----------------------------------------------------------


@pytest.mark.parametrize("how", ["host", "query"])
def test_the_masked_dsn_cannot_carry_the_stored_password_to_a_new_host(client_a, org_a, attacker, how):
    stored = "postgresql://etl:Stored-pg-password-1234@127.0.0.1:1/orders"
    assert create(client_a, {"dsn": stored}, connection_id="pg").status_code == 201
    masked = client_a.get("/api/v1/connections/pg").json()["config"]["dsn"]
    if how == "host":
        moved = masked.replace("127.0.0.1:1", f"{attacker.host}:{attacker.port}")
    else:
        moved = f"{masked}?host={attacker.host}&port={attacker.port}"
    response = client_a.patch("/api/v1/connections/pg", {"config": {"dsn": moved}}, format="json")
    assert response.status_code == 400, response.content
    execute(client_a, connection_id="pg")
    assert attacker.attempts == [] and attacker.passwords == []


# --- Resolved secrets echoed back in error messages ---------------------------------------------------


LONG_SECRET = "Db-" + "".join(f"{i:02d}Kx" for i in range(23)) + "-tail"  # 100 characters, mixed case


def test_a_truncated_folded_or_encoded_secret_is_masked():
    assert len(LONG_SECRET) == 100
    for shown in [
        LONG_SECRET,
        LONG_SECRET[:63],
        LONG_SECRET.lower(),
        f'"{LONG_SECRET[:63]}"',
        LONG_SECRET.replace("-", "%2D"),
        LONG_SECRET[40:48].upper(),
    ]:
        cleaned = redact_values(f"FATAL: database {shown} does not exist", [LONG_SECRET])
        assert cleaned == "FATAL: database [redacted] does not exist" or "[redacted]" in cleaned, shown
        assert not any(LONG_SECRET[i : i + 8].lower() in cleaned.lower() for i in range(93)), cleaned
    assert redact_values("a short run Db-00Kx is kept", [LONG_SECRET]) == "a short run Db-00Kx is kept"


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["database_secret", "user_secret"])
def test_a_100_character_secret_truncated_by_postgresql_never_shows(
    client_a, org_a, monkeypatch, settings, key, caplog
):
    """A real PostgreSQL server answers `database "<first 63 characters>" does not exist`."""
    settings.DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES = True  # user postgres, for the database case
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_LONG", LONG_SECRET)
    config = {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "postgres",
        "user": "postgres",
        "statement_timeout_seconds": 5,
    }
    config.pop(key.removesuffix("_secret"))
    config[key] = "env:DATAXPIPE_SECRET_ORG_A_LONG"
    legacy_row(org_a, config, connection_id="pg-long")  # the config rules want plain host/database/user keys
    response = execute(client_a, connection_id="pg-long")
    assert response.status_code in (400, 502), response.content
    stored = CheckResult.objects.unscoped().filter(connection_id="pg-long").first()
    texts = [response.content.decode(), stored.error_message if stored else ""]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert LONG_SECRET[:63] not in text and LONG_SECRET[:63].lower() not in text.lower()
        assert not any(LONG_SECRET[i : i + 8].lower() in text.lower() for i in range(93)), text
    if response.status_code == 502:
        # The server's own `database "<63 characters>" does not exist` never reaches the tenant: every connect
        # failure is one message (catalog egress rules); the redaction above guards the log lines too.
        assert response.json()["error_message"] == "Could not connect to the warehouse or it refused the login."


def test_a_secret_that_breaks_the_connector_is_no_500_and_no_traceback_carries_it(client_a, org_a, monkeypatch, caplog):
    """`port_secret` naming a word: int() fails quoting the value; the request answers 4xx/502, never 500."""
    caplog.set_level(logging.DEBUG)
    port_value = "Not-a-port-Secret-Value-9Zq"
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_PORT", port_value)
    config = {"host": "127.0.0.1", "database": "x", "user": "x", "port_secret": "env:DATAXPIPE_SECRET_ORG_A_PORT"}
    assert create(client_a, config, connection_id="pg-port").status_code == 201
    response = execute(client_a, connection_id="pg-port")
    assert response.status_code in (400, 502), response.content
    for text in [response.content.decode(), *(record.getMessage() for record in caplog.records)]:
        assert port_value[:8].lower() not in text.lower()


def test_a_traceback_logged_after_resolution_is_redacted():
    """Even an unexpected exception quoting a resolved value, logged with its traceback, shows a mask."""
    stream = []

    class Collect(logging.Handler):
        def emit(self, record):
            stream.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.redteam.traceback")
    logger.addHandler(handler)
    try:
        remember_secret(LONG_SECRET)
        try:
            raise ValueError(f"invalid literal for int() with base 10: {LONG_SECRET[:63].lower()!r}")
        except ValueError:
            logger.exception("boom while using %s", LONG_SECRET.upper())
    finally:
        logger.removeHandler(handler)
    assert len(stream) == 1 and "ValueError" in stream[0] and "[redacted]" in stream[0]
    assert not any(LONG_SECRET[i : i + 8].lower() in stream[0].lower() for i in range(93)), stream[0]


def test_secrets_in_play_are_forgotten_when_a_request_starts(client_a):
    remember_secret("value-of-an-earlier-request")
    client_a.get("/api/v1/connections/")
    assert redact_values("value-of-an-earlier-request", []) == "value-of-an-earlier-request"
    from config.logging import secrets_in_play

    assert secrets_in_play() == []
    assert os.environ.get("DATAXPIPE_SECRET_ORG_A_PORT") is None
