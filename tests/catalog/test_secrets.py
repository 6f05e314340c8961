"""Secret references, scoped to the owning organization and resolved at execution time: env: from the
process (only `DATAXPIPE_SECRET_<ORG>_...`), vault: from Vault KV v2 (only under `dataxpipe/<org-slug>/`).

Vault cannot run here: `FakeVault` (tests/security/fake_vault.py) is a local HTTP server speaking Vault's
KV v2 wire protocol, and the real hvac client talks to it.
"""

import pytest

from catalog import services
from catalog.models import Connection
from catalog.secrets import (
    SecretReferenceRefused,
    SecretResolutionError,
    env_prefix,
    is_secret_reference,
    reference_problem,
    resolve_config,
    resolve_connection_config,
)
from tests.security.fake_vault import TOKEN, FakeVault

pytestmark = pytest.mark.django_db

PG_PATH = "dataxpipe/org-a/warehouses/pg-prod"
VAULT_REF = f"vault:secret/{PG_PATH}#password"


@pytest.fixture
def vault(monkeypatch):
    with FakeVault({("secret", PG_PATH): {"password": "vault-pg-password", "user": "etl"}}) as server:
        monkeypatch.setenv("VAULT_ADDR", server.address)
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)
        yield server


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("env:DATAXPIPE_SECRET_ORG_A_PW", True),
        ("vault:secret/dataxpipe/org-a/pg#password", True),
        ("vault:secret/dataxpipe/org-a/pg", False),
        ("env:DATAXPIPE_SECRET_ORG_A_PW\n", False),
        ("hunter2", False),
        ("env:", False),
        (42, False),
    ],
)
def test_is_secret_reference(value, expected):
    assert is_secret_reference(value) is expected


@pytest.mark.parametrize(
    ("slug", "prefix"),
    [("org-a", "DATAXPIPE_SECRET_ORG_A_"), ("Acme_EU-2", "DATAXPIPE_SECRET_ACME_EU_2_"), ("x", "DATAXPIPE_SECRET_X_")],
)
def test_the_env_prefix_of_an_organization(make_org, slug, prefix):
    assert env_prefix(make_org(slug)) == prefix


def test_env_reference_resolves_from_the_environment(monkeypatch, org_a):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_PG_PASSWORD", "from-env-value")
    resolved = resolve_config({"host": "db", "password_secret": "env:DATAXPIPE_SECRET_ORG_A_PG_PASSWORD"}, org_a)
    assert resolved == {"host": "db", "password": "from-env-value"}


def test_missing_env_variable_is_a_clear_error(monkeypatch, org_a):
    monkeypatch.delenv("DATAXPIPE_SECRET_ORG_A_NOT_SET", raising=False)
    with pytest.raises(SecretResolutionError, match="DATAXPIPE_SECRET_ORG_A_NOT_SET is not set"):
        resolve_config({"password_secret": "env:DATAXPIPE_SECRET_ORG_A_NOT_SET"}, org_a)


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "DATAXPIPE_SECRET_ORG_B_PW", "PATH"])
def test_a_variable_outside_the_namespace_never_resolves(monkeypatch, org_a, org_b, name):
    monkeypatch.setenv(name, "platform-owned-secret-value")
    with pytest.raises(SecretReferenceRefused, match="DATAXPIPE_SECRET_ORG_A_<NAME>"):
        resolve_config({"password_secret": f"env:{name}"}, org_a)


class TestOverlappingPrefixes:
    """`a` claims DATAXPIPE_SECRET_A_..., `a-b` claims DATAXPIPE_SECRET_A_B_... (and `a_b` the same): a name
    two organizations' prefixes both match belongs to neither, so no variable is ever readable by two."""

    def test_a_name_another_organizations_prefix_also_matches_is_refused_to_both(self, make_org, monkeypatch):
        org_a, org_ab = make_org("a"), make_org("a-b")
        monkeypatch.setenv("DATAXPIPE_SECRET_A_B_X", "ambiguous-secret-value")
        for organization in (org_a, org_ab):
            problem = reference_problem("env:DATAXPIPE_SECRET_A_B_X", organization)
            assert problem and "another organization's prefix" in problem
            with pytest.raises(SecretReferenceRefused):
                resolve_config({"password_secret": "env:DATAXPIPE_SECRET_A_B_X"}, organization)

    def test_names_only_one_prefix_matches_resolve_for_their_owner(self, make_org, monkeypatch):
        org_a, org_ab = make_org("a"), make_org("a-b")
        monkeypatch.setenv("DATAXPIPE_SECRET_A_PW", "owned-by-a-value")
        assert resolve_config({"p_secret": "env:DATAXPIPE_SECRET_A_PW"}, org_a) == {"p": "owned-by-a-value"}
        assert reference_problem("env:DATAXPIPE_SECRET_A_PW", org_ab)  # not a-b's prefix at all

    def test_slugs_with_the_same_prefix_share_nothing(self, make_org):
        dash, underscore = make_org("a-b"), make_org("a_b")
        for organization in (dash, underscore):
            assert "another organization's prefix" in reference_problem("env:DATAXPIPE_SECRET_A_B_PW", organization)

    def test_an_organization_created_later_takes_nothing_over(self, make_org, monkeypatch):
        """`a` stored DATAXPIPE_SECRET_A_B_X legitimately; once `a-b` exists the name stops resolving (a clear
        error for `a`) instead of becoming readable by `a-b`."""
        org_a = make_org("a")
        monkeypatch.setenv("DATAXPIPE_SECRET_A_B_X", "a-secret-of-org-a")
        connection = services.create_connection(
            organization=org_a,
            connection_id="pg",
            connection_type="postgres",
            config={"dsn": "postgresql://etl@db/orders", "password_secret": "env:DATAXPIPE_SECRET_A_B_X"},
        )
        assert resolve_connection_config(connection)["password"] == "a-secret-of-org-a"
        make_org("a-b")
        with pytest.raises(SecretReferenceRefused, match="another organization's prefix"):
            resolve_connection_config(Connection.objects.unscoped().get(pk=connection.pk))


def test_vault_reference_resolves_over_kv_v2(vault, org_a):
    resolved = resolve_config({"host": "db", "password_secret": VAULT_REF}, org_a)
    assert resolved == {"host": "db", "password": "vault-pg-password"}
    assert vault.requests[0][0].startswith(f"/v1/secret/data/{PG_PATH}")
    assert vault.requests[0][1] == TOKEN


def test_vault_prefix_follows_the_setting(vault, org_a, settings):
    settings.DATAXPIPE_VAULT_PATH_PREFIX = "tenants"
    assert "under tenants/org-a/" in reference_problem(VAULT_REF, org_a)
    with pytest.raises(SecretReferenceRefused):
        resolve_config({"password_secret": VAULT_REF}, org_a)
    assert vault.requests == []


def test_vault_wrong_token_is_an_error_without_the_secret(vault, monkeypatch, org_a):
    monkeypatch.setenv("VAULT_TOKEN", "wrong-token-value")
    with pytest.raises(SecretResolutionError) as raised:
        resolve_config({"password_secret": VAULT_REF}, org_a)
    assert "vault-pg-password" not in str(raised.value) and "wrong-token-value" not in str(raised.value)


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("vault:secret/dataxpipe/org-a/warehouses/nope#password", "could not provide"),
        (f"vault:secret/{PG_PATH}#pin", "no field"),
    ],
)
def test_vault_missing_secret_or_field(vault, org_a, reference, fragment):
    with pytest.raises(SecretResolutionError, match=fragment):
        resolve_config({"password_secret": reference}, org_a)


def test_vault_unreachable_is_an_error(monkeypatch, org_a):
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    with pytest.raises(SecretResolutionError, match="could not provide"):
        resolve_config({"password_secret": VAULT_REF}, org_a)


def test_vault_without_address_is_an_error(monkeypatch, org_a):
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with pytest.raises(SecretResolutionError, match="VAULT_ADDR"):
        resolve_config({"password_secret": VAULT_REF}, org_a)


def test_connection_with_a_vault_password_resolves_into_its_dsn(vault, org_a):
    connection = services.create_connection(
        organization=org_a,
        connection_id="pg-prod",
        connection_type="postgres",
        config={"dsn": "postgresql://etl@db.internal/orders", "password_secret": VAULT_REF},
    )
    assert vault.requests == []  # nothing is resolved when the connection is saved
    resolved = resolve_connection_config(connection)
    assert resolved["dsn"] == "postgresql://etl:vault-pg-password@db.internal/orders"


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
