"""POST /api/v1/checks/execute on Snowflake: fakesnow (DuckDB underneath) behind the real
snowflake-connector-python, patched with `fakesnow.patch()`."""

import fakesnow
import pytest
import snowflake.connector

from checks.connectors import QueryTag, connector_for
from checks.models import CheckResult
from tests.checks.corpus import DANGEROUS_SQL
from tests.checks.factories import make_connection

# fakesnow warns about an extra Arrow copy on every result; that is its business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONFIG = {
    "account": "acme-eu",
    "user": "checker",
    "password_secret": "env:DATAXPIPE_SECRET_ORG_A_TEST_SF_PASSWORD",
    "warehouse": "CHECKS_WH",
    "database": "ANALYTICS",
    "schema": "PUBLIC",
    "role": "CHECKS_READER",
}


def _snapshot():
    session = snowflake.connector.connect(database="ANALYTICS", schema="PUBLIC")
    cursor = session.cursor()
    cursor.execute("SELECT order_id, amount FROM orders ORDER BY order_id")
    rows = cursor.fetchall()
    cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'PUBLIC'")
    tables = cursor.fetchall()
    session.close()
    return rows, tables


@pytest.fixture
def snowflake_account(monkeypatch):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_TEST_SF_PASSWORD", "sf-password-value")
    with fakesnow.patch():
        session = snowflake.connector.connect(database="ANALYTICS", schema="PUBLIC")
        session.cursor().execute("CREATE TABLE orders (order_id INT, amount FLOAT)")
        session.cursor().execute("INSERT INTO orders VALUES (1, 120.0), (2, -5.0), (3, -1.0)")
        session.close()
        yield _snapshot


@pytest.fixture
def sf_prod(org_a, snowflake_account):
    return make_connection(org_a, "sf-prod", "snowflake", CONFIG)


def execute(client, payload):
    return client.post("/api/v1/checks/execute", payload, format="json")


def test_failing_and_passing_checks(client_a, sf_prod):
    sql = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"
    failing = execute(client_a, {"connection_id": "sf-prod", "sql": sql, "check_id": "chk_negative"})
    assert failing.status_code == 201, failing.content
    assert (failing.json()["status"], failing.json()["violations"]) == ("fail", 2)
    passing = execute(client_a, {"connection_id": "sf-prod", "sql": sql, "check_id": "chk_negative", "threshold": 2})
    assert passing.json()["status"] == "pass"


def test_sql_errors_are_recorded_with_the_warehouses_message(client_a, sf_prod):
    response = execute(client_a, {"connection_id": "sf-prod", "sql": "SELECT COUNT(*) FROM nope", "check_id": "c"})
    assert (response.status_code, response.json()["status"]) == (201, "error")
    assert "NOPE does not exist" in response.json()["error_message"]
    assert "sf-password-value" not in response.content.decode()


@pytest.mark.parametrize(("written_for", "sql"), DANGEROUS_SQL)
def test_dangerous_sql_is_refused_and_the_warehouse_is_unchanged(
    client_a, sf_prod, snowflake_account, written_for, sql
):
    before = snowflake_account()
    response = execute(client_a, {"connection_id": "sf-prod", "sql": sql, "check_id": "chk_evil"})
    assert response.status_code == 400, (sql, response.content)
    assert snowflake_account() == before
    assert not CheckResult.objects.unscoped().exists()


def test_a_write_past_the_parser_is_rolled_back(sf_prod, snowflake_account):
    """The second layer on its own: sessions run with autocommit off and every check is rolled back."""
    before = snowflake_account()
    connector_for(sf_prod).fetch("DELETE FROM orders", max_rows=2, tag=QueryTag("org-a", "sf-prod"))
    assert snowflake_account() == before


def test_sessions_are_pooled_per_connection(sf_prod):
    connector = connector_for(sf_prod)
    for _ in range(3):
        rows = connector.fetch("SELECT 1", max_rows=2, tag=QueryTag("org-a", "sf-prod")).rows
        assert rows == [(1,)]
    assert len(connector._idle) == 1
    assert connector_for(sf_prod) is connector


def test_a_connection_without_account_is_a_recorded_error(client_a, org_a, snowflake_account):
    make_connection(org_a, "sf-bad", "snowflake", {"user": "checker"})
    response = execute(client_a, {"connection_id": "sf-bad", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 502
    assert "account" in response.json()["error_message"]
