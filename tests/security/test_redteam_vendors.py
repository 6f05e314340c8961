"""Snowflake and BigQuery connections: the vendors' hosts stay reachable, but a tenant cannot steer the
login elsewhere or borrow the catalog's own cloud identity.

- Snowflake: the connector builds `https://<account>.snowflakecomputing.com`; an account holding `/`, `@` or
  `#` would post the login, password included, to a host the tenant chose; an `https://` authenticator is
  Okta native SSO, which posts the password to that URL.
- BigQuery: a connection without its own `credentials_secret` would run as the catalog's Application Default
  Credentials; a service-account key's `token_uri` is where google-auth posts, so a key naming another URL
  would aim the worker at an address of the tenant's choosing.
BigQuery runs against the local fake of its REST API (tests/checks/fake_bigquery.py), a second instance of
which plays the attacker's server and records whether anything reached it.
"""

import pytest

from checks.models import CheckResult
from tests.checks.fake_bigquery import FakeBigQuery, service_account_key
from tests.security.test_redteam_secrets import create, execute, legacy_row

SNOWFLAKE = {
    "account": "xy12345.eu-central-1",
    "user": "checker",
    "warehouse": "wh",
    "database": "analytics",
    "schema": "public",
    "role": "checker",
    "password_secret": "env:DATAXPIPE_SECRET_ORG_A_SF",
}
BIGQUERY = {"project": "acme-analytics", "location": "EU", "dataset": "analytics", "maximum_bytes_billed": 1000}


@pytest.mark.parametrize(
    "account",
    [
        "attacker.example/x?",
        "victim@attacker.example",
        "attacker.example#",
        "acct.snowflakecomputing.com:443@attacker.example",
        "a b",
    ],
)
def test_a_snowflake_account_that_would_change_the_host_is_refused(client_a, account):
    response = create(client_a, {**SNOWFLAKE, "account": account}, connection_type="snowflake")
    assert response.status_code == 400, response.content
    assert "account" in response.json()["config"][0]


@pytest.mark.parametrize("authenticator", ["https://attacker.okta.com", "externalbrowser", "http://10.0.0.1/"])
def test_a_snowflake_authenticator_that_posts_the_password_elsewhere_is_refused(client_a, authenticator):
    response = create(client_a, {**SNOWFLAKE, "authenticator": authenticator}, connection_type="snowflake")
    assert response.status_code == 400, response.content
    assert "never a URL" in response.json()["config"][0]


def test_ordinary_snowflake_and_bigquery_connections_are_accepted(client_a):
    assert create(client_a, {**SNOWFLAKE, "authenticator": "SNOWFLAKE_JWT"}, "sf", "snowflake").status_code == 201
    config = {**BIGQUERY, "credentials_secret": "env:DATAXPIPE_SECRET_ORG_A_BQ"}
    assert create(client_a, config, "bq", "bigquery").status_code == 201


@pytest.fixture
def google(settings, monkeypatch):
    """(the fake BigQuery the operator points at, an attacker's server a key could name as its token_uri)."""
    with FakeBigQuery() as real, FakeBigQuery() as attacker:
        settings.DATAXPIPE_BIGQUERY_API_ENDPOINT = real.url
        yield real, attacker


def test_a_bigquery_connection_without_its_own_key_is_refused_and_never_runs_as_the_platform(client_a, org_a, google):
    real, _ = google
    response = create(client_a, BIGQUERY, connection_type="bigquery")
    assert response.status_code == 400
    assert "credentials_secret" in response.json()["config"][0]
    legacy_row(org_a, BIGQUERY, connection_type="bigquery")
    response = execute(client_a)
    assert response.status_code == 400, response.content
    assert "own Google identity is never lent" in response.json()["connection_id"][0]
    assert real.requests == [] and not CheckResult.objects.unscoped().exists()


def test_the_operator_may_lend_the_platform_identity(client_a, settings):
    settings.DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS = True
    assert create(client_a, BIGQUERY, connection_type="bigquery").status_code == 201


def register_key(client, monkeypatch, *, token_uri):
    """Org A's BigQuery connection `evil` with its own service-account key naming `token_uri`."""
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_BQ", service_account_key(token_uri))
    config = {**BIGQUERY, "credentials_secret": "env:DATAXPIPE_SECRET_ORG_A_BQ"}
    assert create(client, config, connection_type="bigquery").status_code == 201


def test_a_key_whose_token_uri_is_elsewhere_reaches_nobody(client_a, org_a, google, monkeypatch):
    real, attacker = google
    register_key(client_a, monkeypatch, token_uri=f"{attacker.url}/token")
    response = execute(client_a)
    assert response.status_code == 400, response.content
    assert "token_uri" in response.json()["connection_id"][0]
    assert attacker.requests == [] and real.requests == []


def test_a_key_whose_token_uri_is_the_operators_endpoint_works(client_a, org_a, google, monkeypatch):
    real, _ = google
    register_key(client_a, monkeypatch, token_uri=f"{real.url}/token")
    response = execute(client_a)
    assert response.status_code == 201, response.content
    assert [request["path"] for request in real.requests] == ["/bigquery/v2/projects/acme-analytics/queries"]


def test_a_json_key_is_masked_by_its_values_not_its_field_names():
    from config.logging import redact_values

    key = service_account_key("https://oauth2.googleapis.com/token")
    private_line = key.split("\\n")[3]  # a line of the PEM body, as an error message might quote it
    text = f"the key's token_uri is wrong; private_key starts {private_line[:20]}; whole: {key}"
    redacted = redact_values(text, [key])
    assert "the key's token_uri is wrong; private_key starts [redacted]" in redacted
    assert private_line[:8] not in redacted and "checks@acme-analytics" not in redacted
