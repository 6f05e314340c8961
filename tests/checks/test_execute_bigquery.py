"""POST /api/v1/checks/execute on BigQuery: the real google-cloud-bigquery client against a local
HTTP server that answers the BigQuery REST calls it makes (tests/checks/fake_bigquery.py).
No BigQuery emulator runs offline, so this fake is the one stand-in in the checks suite."""

import socket

import pytest

from checks.models import CheckResult
from tests.checks.corpus import DANGEROUS_SQL
from tests.checks.factories import make_connection, make_run, register_pipeline
from tests.checks.fake_bigquery import FakeBigQuery, service_account_key

CONFIG = {
    "project": "acme-analytics",
    "location": "EU",
    "dataset": "analytics",
    "maximum_bytes_billed": 1000,
    "credentials_secret": "env:DATAXPIPE_SECRET_ORG_A_TEST_BQ_KEY",
}


@pytest.fixture
def fake_bigquery(settings, monkeypatch):
    with FakeBigQuery() as fake:
        settings.DATAXPIPE_BIGQUERY_API_ENDPOINT = fake.url
        monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_TEST_BQ_KEY", service_account_key(f"{fake.url}/token"))
        yield fake


@pytest.fixture
def bq_prod(org_a, fake_bigquery):
    return make_connection(org_a, "bq-prod", "bigquery", CONFIG)


def execute(client, payload):
    return client.post("/api/v1/checks/execute", payload, format="json")


def test_the_references_example_runs_with_byte_limit_timeout_and_labels(client_a, org_a, bq_prod, fake_bigquery):
    pipeline = register_pipeline(
        org_a,
        "orders_sync",
        checks=[
            {
                "id": "chk_freshness",
                "dataset": "clean_orders",
                "connection_id": "bq-prod",
                "severity": "error",
                "sql": "SELECT COUNT(*) AS violations FROM analytics.clean_orders WHERE amount < 0",
                "threshold": 0,
            }
        ],
    )
    make_run(org_a, pipeline, "run-abc123")
    sql = "SELECT COUNT(*) AS violations FROM analytics.clean_orders WHERE amount < 0"
    response = execute(
        client_a, {"connection_id": "bq-prod", "sql": sql, "check_id": "chk_freshness", "run_id": "run-abc123"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["violations"], body["pipeline"], body["run_id"]) == (
        "fail",
        2,
        "orders_sync",
        "run-abc123",
    )
    [query] = fake_bigquery.queries
    assert query["query"] == sql
    assert query["maximumBytesBilled"] == "1000"
    assert int(query["jobTimeoutMs"]) == 30_000
    assert query["labels"] == {
        "dataxpipe": "check",
        "organization": "org-a",
        "connection": "bq-prod",
        "check": "chk_freshness",
    }
    assert query["defaultDataset"] == {"projectId": "acme-analytics", "datasetId": "analytics"}
    assert query["useLegacySql"] is False
    assert fake_bigquery.requests[0]["authorization"] == "Bearer ya29.fake-token"


def test_a_passing_check(client_a, bq_prod):
    response = execute(client_a, {"connection_id": "bq-prod", "sql": "SELECT COUNT(*) FROM t", "check_id": "c"})
    assert (response.status_code, response.json()["status"], response.json()["violations"]) == (201, "pass", 0)


@pytest.mark.parametrize(
    ("table", "message"),
    [("missing_table", "Not found: Table"), ("huge_table", "exceeded limit for bytes billed")],
)
def test_bigquery_errors_are_recorded_with_its_message(client_a, bq_prod, table, message):
    response = execute(client_a, {"connection_id": "bq-prod", "sql": f"SELECT COUNT(*) FROM {table}", "check_id": "c"})
    assert (response.status_code, response.json()["status"]) == (201, "error")
    assert message in response.json()["error_message"]


def test_a_slow_bigquery_is_abandoned_at_the_timeout(client_a, org_a, fake_bigquery):
    make_connection(org_a, "bq-slow", "bigquery", {**CONFIG, "statement_timeout_seconds": 0.5})
    response = execute(
        client_a, {"connection_id": "bq-slow", "sql": "SELECT COUNT(*) FROM slow_table", "check_id": "c"}
    )
    assert response.status_code == 201
    assert response.json()["status"] == "error"
    assert "within 0.5 s" in response.json()["error_message"]


def test_an_unreachable_bigquery_is_a_502(client_a, org_a, fake_bigquery, settings, monkeypatch):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.DATAXPIPE_BIGQUERY_API_ENDPOINT = f"http://127.0.0.1:{unused.getsockname()[1]}"
    # The key's token endpoint lies under the (unreachable) endpoint, as the token_uri rule wants.
    monkeypatch.setenv(
        "DATAXPIPE_SECRET_ORG_A_TEST_BQ_KEY", service_account_key(f"{settings.DATAXPIPE_BIGQUERY_API_ENDPOINT}/token")
    )
    make_connection(org_a, "bq-down", "bigquery", {**CONFIG, "statement_timeout_seconds": 0.5})
    response = execute(client_a, {"connection_id": "bq-down", "sql": "SELECT 1", "check_id": "c"})
    assert response.status_code == 502
    assert CheckResult.objects.unscoped().get().status == "error"


def test_a_bad_key_is_a_502_that_does_not_echo_the_key(client_a, org_a, fake_bigquery, monkeypatch):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_BQ_BAD", '{"private_key": "-----BEGIN not-really-----"}')
    make_connection(org_a, "bq-bad", "bigquery", {**CONFIG, "credentials_secret": "env:DATAXPIPE_SECRET_ORG_A_BQ_BAD"})
    response = execute(client_a, {"connection_id": "bq-bad", "sql": "SELECT 1", "check_id": "c"})
    assert response.status_code == 502
    assert "not-really" not in response.content.decode()


@pytest.mark.parametrize(("written_for", "sql"), DANGEROUS_SQL)
def test_dangerous_sql_is_refused_before_anything_reaches_bigquery(client_a, bq_prod, fake_bigquery, written_for, sql):
    response = execute(client_a, {"connection_id": "bq-prod", "sql": sql, "check_id": "chk_evil"})
    assert response.status_code == 400, (sql, response.content)
    assert fake_bigquery.requests == []
    assert not CheckResult.objects.unscoped().exists()
