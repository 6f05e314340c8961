"""Secret references resolved at execution time: env: from the process, vault: from Vault KV v2.

Vault cannot run here, so `vault_server` is a local HTTP server speaking Vault's KV v2 wire protocol
(`GET /v1/<mount>/data/<path>` with `X-Vault-Token`, answering `{"data": {"data": {...}, "metadata": {...}}}`,
403 with `{"errors": ["permission denied"]}` for a wrong token, 404 with `{"errors": []}` for no secret),
and the real hvac client talks to it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog import services
from catalog.secrets import SecretResolutionError, is_secret_reference, resolve_config, resolve_connection_config

TOKEN = "hvs.test-token"
SECRETS = {("secret", "warehouses/pg-prod"): {"password": "vault-pg-pw", "user": "etl"}}


class VaultKvV2Handler(BaseHTTPRequestHandler):
    requests_seen: list = []

    def do_GET(self):
        type(self).requests_seen.append((self.path, self.headers.get("X-Vault-Token")))
        if self.headers.get("X-Vault-Token") != TOKEN:
            return self._answer(403, {"errors": ["permission denied"]})
        parts = self.path.split("?", 1)[0].split("/")
        # /v1/<mount>/data/<path...>
        if len(parts) < 5 or parts[1] != "v1" or parts[3] != "data":
            return self._answer(404, {"errors": []})
        secret = SECRETS.get((parts[2], "/".join(parts[4:])))
        if secret is None:
            return self._answer(404, {"errors": []})
        metadata = {"created_time": "2025-06-01T00:00:00Z", "deletion_time": "", "destroyed": False, "version": 2}
        return self._answer(
            200,
            {
                "request_id": "r",
                "lease_id": "",
                "renewable": False,
                "lease_duration": 0,
                "data": {"data": secret, "metadata": metadata},
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            },
        )

    def _answer(self, code, body):
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def vault_server(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), VaultKvV2Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    VaultKvV2Handler.requests_seen = []
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("env:PG_PASSWORD", True),
        ("vault:secret/warehouses/pg-prod#password", True),
        ("vault:secret/warehouses/pg-prod", False),
        ("hunter2", False),
        ("env:", False),
        (42, False),
    ],
)
def test_is_secret_reference(value, expected):
    assert is_secret_reference(value) is expected


def test_env_reference_resolves_from_the_environment(monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "from-env")
    resolved = resolve_config({"host": "db", "password_secret": "env:PG_PASSWORD"})
    assert resolved == {"host": "db", "password": "from-env"}


def test_missing_env_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(SecretResolutionError, match="NOT_SET_ANYWHERE is not set"):
        resolve_config({"password_secret": "env:NOT_SET_ANYWHERE"})


def test_vault_reference_resolves_over_kv_v2(vault_server):
    resolved = resolve_config({"host": "db", "password_secret": "vault:secret/warehouses/pg-prod#password"})
    assert resolved == {"host": "db", "password": "vault-pg-pw"}
    assert VaultKvV2Handler.requests_seen[0][0].startswith("/v1/secret/data/warehouses/pg-prod")
    assert VaultKvV2Handler.requests_seen[0][1] == TOKEN


def test_vault_wrong_token_is_an_error_without_the_secret(vault_server, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", "wrong")
    with pytest.raises(SecretResolutionError) as raised:
        resolve_config({"password_secret": "vault:secret/warehouses/pg-prod#password"})
    assert "vault-pg-pw" not in str(raised.value) and "wrong" not in str(raised.value)


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("vault:secret/warehouses/nope#password", "could not provide"),
        ("vault:secret/warehouses/pg-prod#pin", "no field"),
    ],
)
def test_vault_missing_secret_or_field(vault_server, reference, fragment):
    with pytest.raises(SecretResolutionError, match=fragment):
        resolve_config({"password_secret": reference})


def test_vault_unreachable_is_an_error(monkeypatch):
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    with pytest.raises(SecretResolutionError, match="could not provide"):
        resolve_config({"password_secret": "vault:secret/warehouses/pg-prod#password"})


def test_vault_without_address_is_an_error(monkeypatch):
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with pytest.raises(SecretResolutionError, match="VAULT_ADDR"):
        resolve_config({"password_secret": "vault:secret/warehouses/pg-prod#password"})


@pytest.mark.django_db
def test_connection_with_a_vault_password_resolves_into_its_dsn(vault_server, org_a):
    connection = services.create_connection(
        organization=org_a,
        connection_id="pg-prod",
        connection_type="postgres",
        config={
            "dsn": "postgresql://etl@db.internal/orders",
            "password_secret": "vault:secret/warehouses/pg-prod#password",
        },
    )
    assert VaultKvV2Handler.requests_seen == []  # nothing is resolved when the connection is saved
    resolved = resolve_connection_config(connection)
    assert resolved["dsn"] == "postgresql://etl:vault-pg-pw@db.internal/orders"


@pytest.mark.django_db
def test_stored_dsn_password_needs_the_same_secret_key(org_a, settings):
    connection = services.create_connection(
        organization=org_a, connection_id="pg", connection_type="postgres", config={"dsn": "postgresql://u:pw@h/d"}
    )
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-key"
    with pytest.raises(SecretResolutionError, match="SECRET_KEY"):
        resolve_connection_config(connection)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert resolve_connection_config(connection)["dsn"] == "postgresql://u:pw@h/d"
