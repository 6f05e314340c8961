"""POST /api/v1/checks/execute on a real PostgreSQL warehouse (a scratch database on the local server)."""

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from checks.connectors import QueryTag, WarehouseError, WarehouseTimeout, connector_for
from checks.connectors.pg_session import CONNECT_FAILED
from checks.models import CheckResult
from tests.checks.conftest import CHECKER_ROLE, PG_WAREHOUSE_ADMIN_DSN, WAREHOUSE_DB
from tests.checks.corpus import DANGEROUS_SQL
from tests.checks.factories import make_connection
from tests.checks.snapshots import pg_snapshot
from tests.pg_warehouse import ensure_role

NEGATIVE_AMOUNTS = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"


@pytest.fixture
def warehouse(org_a, pg_warehouse_dsn):
    return make_connection(org_a, "pg-prod", "postgres", {"dsn": pg_warehouse_dsn})


def execute(client, payload):
    return client.post("/api/v1/checks/execute", payload, format="json")


def test_failing_and_passing_checks(client_a, warehouse):
    failing = execute(client_a, {"connection_id": "pg-prod", "sql": NEGATIVE_AMOUNTS, "check_id": "chk_negative"})
    assert failing.status_code == 201, failing.content
    assert (failing.json()["status"], failing.json()["violations"]) == ("fail", 1)
    sql = "SELECT COUNT(*) FROM orders WHERE CAST(order_id AS text) LIKE '%9%'"
    passing = execute(client_a, {"connection_id": "pg-prod", "sql": sql, "check_id": "chk_like"})
    assert (passing.status_code, passing.json()["status"], passing.json()["violations"]) == (201, "pass", 0)


def test_host_and_port_config_with_a_password_resolved_from_the_environment(
    client_a, org_a, pg_warehouse_dsn, monkeypatch
):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_PW", "not-needed-with-trust-auth")
    make_connection(
        org_a,
        "pg-parts",
        "postgres",
        {
            "host": "127.0.0.1",
            "port": 5432,
            "database": WAREHOUSE_DB,
            "user": CHECKER_ROLE,
            "password_secret": "env:DATAXPIPE_SECRET_ORG_A_PW",
        },
    )
    response = execute(client_a, {"connection_id": "pg-parts", "sql": NEGATIVE_AMOUNTS, "check_id": "c"})
    assert (response.status_code, response.json()["status"]) == (201, "fail")


def test_pg_sleep_is_stopped_by_the_statement_timeout_and_the_pool_recovers(client_a, org_a, pg_warehouse_dsn):
    make_connection(org_a, "pg-slow", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": 0.5})
    response = execute(client_a, {"connection_id": "pg-slow", "sql": "SELECT 0 FROM pg_sleep(30)", "check_id": "c"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "error"
    assert "statement timeout" in body["error_message"]
    after = execute(client_a, {"connection_id": "pg-slow", "sql": NEGATIVE_AMOUNTS, "check_id": "c"})
    assert after.json()["status"] == "fail"


def test_an_unreachable_warehouse_is_a_502_with_a_recorded_error(client_a, org_a):
    make_connection(org_a, "pg-down", "postgres", {"dsn": "postgresql://postgres:pw-in-dsn@127.0.0.1:1/nothing"})
    response = execute(client_a, {"connection_id": "pg-down", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 502
    body = response.json()
    assert body["status"] == "error"
    assert body["error_message"] == CONNECT_FAILED
    assert "pw-in-dsn" not in response.content.decode()
    assert CheckResult.objects.unscoped().get().status == "error"


def test_a_refused_login_is_a_502_with_the_same_message_as_any_connect_failure(client_a, org_a):
    """A login refused, a closed port and a non-PostgreSQL service look alike: the API is no port scanner."""
    make_connection(
        org_a, "pg-nobody", "postgres", {"host": "127.0.0.1", "database": WAREHOUSE_DB, "user": "no_such_role"}
    )
    response = execute(client_a, {"connection_id": "pg-nobody", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 502
    assert response.json()["error_message"] == CONNECT_FAILED


def test_secrets_are_scrubbed_from_the_warehouses_message(client_a, org_a, pg_warehouse_dsn, monkeypatch):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_DB", "s3cr3t-database-name")
    make_connection(
        org_a,
        "pg-secret",
        "postgres",
        {"host": "127.0.0.1", "user": CHECKER_ROLE, "database_secret": "env:DATAXPIPE_SECRET_ORG_A_DB"},
    )
    response = execute(client_a, {"connection_id": "pg-secret", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 502
    assert "s3cr3t" not in response.content.decode()
    assert "s3cr3t" not in CheckResult.objects.unscoped().get().error_message


def test_an_unresolvable_secret_is_a_recorded_error(client_a, org_a, monkeypatch):
    monkeypatch.delenv("DATAXPIPE_SECRET_ORG_A_NO", raising=False)
    make_connection(
        org_a,
        "pg-unset",
        "postgres",
        {
            "host": "127.0.0.1",
            "database": WAREHOUSE_DB,
            "user": CHECKER_ROLE,
            "password_secret": "env:DATAXPIPE_SECRET_ORG_A_NO",
        },
    )
    response = execute(client_a, {"connection_id": "pg-unset", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 502
    assert "DATAXPIPE_SECRET_ORG_A_NO is not set" in response.json()["error_message"]


def test_sql_errors_are_recorded_as_errors(client_a, warehouse):
    response = execute(client_a, {"connection_id": "pg-prod", "sql": "SELECT COUNT(*) FROM nope", "check_id": "c"})
    assert (response.status_code, response.json()["status"]) == (201, "error")
    assert 'relation "nope" does not exist' in response.json()["error_message"]


@pytest.mark.parametrize(("written_for", "sql"), DANGEROUS_SQL)
def test_dangerous_sql_is_refused_and_the_warehouse_is_unchanged(
    client_a, warehouse, pg_warehouse_dsn, written_for, sql
):
    before = pg_snapshot(PG_WAREHOUSE_ADMIN_DSN)
    response = execute(client_a, {"connection_id": "pg-prod", "sql": sql, "check_id": "chk_evil"})
    assert response.status_code == 400, (sql, response.content)
    assert pg_snapshot(PG_WAREHOUSE_ADMIN_DSN) == before
    assert not CheckResult.objects.unscoped().exists()


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM orders",
        "WITH gone AS (DELETE FROM orders RETURNING *) SELECT COUNT(*) FROM gone",
        "SELECT nextval('order_ids')",
        "CREATE TABLE stolen AS SELECT * FROM orders",
        "SELECT 1; COMMIT; DELETE FROM orders",
        "SELECT set_config('transaction_read_only', 'off', true), 0; DELETE FROM orders",
    ],
)
def test_the_read_only_transaction_refuses_writes_even_past_the_parser(warehouse, pg_warehouse_dsn, sql):
    """The second layer on its own: the connector runs SQL the parser would have refused."""
    before = pg_snapshot(PG_WAREHOUSE_ADMIN_DSN)
    with pytest.raises(WarehouseError):
        connector_for(warehouse).fetch(sql, max_rows=2, tag=QueryTag(organization="org-a", connection_id="pg-prod"))
    assert pg_snapshot(PG_WAREHOUSE_ADMIN_DSN) == before


def test_the_connector_times_out_on_its_own(org_a, pg_warehouse_dsn):
    connection = make_connection(org_a, "pg-t", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": 0.2})
    with pytest.raises(WarehouseTimeout):
        connector_for(connection).fetch("SELECT pg_sleep(10)", max_rows=2, tag=QueryTag("org-a", "pg-t"))


def test_the_engine_is_cached_and_pooled_per_connection(org_a, warehouse):
    connector = connector_for(warehouse)
    for _ in range(3):
        connector_for(warehouse).fetch("SELECT 1", max_rows=2, tag=QueryTag("org-a", "pg-prod"))
    assert connector_for(warehouse) is connector
    assert connector.engine.pool.checkedin() == 1  # one pooled session served all three checks


def test_a_pooled_session_the_server_dropped_is_replaced_transparently(warehouse, pg_warehouse_dsn):
    connector = connector_for(warehouse)
    tag = QueryTag("org-a", "pg-prod")
    assert connector.fetch("SELECT 1", max_rows=2, tag=tag).rows == [(1,)]
    with psycopg.connect(pg_warehouse_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{WAREHOUSE_DB}' AND application_name = 'dataxpipe-check:pg-prod' "
            "AND pid <> pg_backend_pid()"
        )
    assert connector.fetch("SELECT 2", max_rows=2, tag=tag).rows == [(2,)]


def test_a_libpq_keyword_dsn_works_too(client_a, org_a, pg_warehouse_dsn):
    dsn = f"host=127.0.0.1 port=5432 dbname={WAREHOUSE_DB} user={CHECKER_ROLE}"
    make_connection(org_a, "pg-kw", "postgres", {"dsn": dsn})
    response = execute(client_a, {"connection_id": "pg-kw", "sql": NEGATIVE_AMOUNTS, "check_id": "c"})
    assert (response.status_code, response.json()["status"]) == (201, "fail")


def test_a_malformed_stored_dsn_is_a_400_naming_the_dsn_and_nothing_is_recorded(client_a, org_a):
    make_connection(org_a, "pg-junk", "postgres", {"dsn": "postgresql://[broken"})
    response = execute(client_a, {"connection_id": "pg-junk", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 400
    assert "dsn: is neither a valid postgresql:// URL" in response.json()["connection_id"][0]
    assert not CheckResult.objects.unscoped().exists()


def test_sessions_the_warehouse_closed_while_idle_are_replaced_not_reported(org_a, pg_warehouse_dsn):
    """A warehouse (or a proxy) that ends idle sessions: every pooled session is gone by the next check, which
    still runs, on a fresh session."""
    role = f"{CHECKER_ROLE}_idle"
    with psycopg.connect(PG_WAREHOUSE_ADMIN_DSN, autocommit=True) as admin:
        ensure_role(admin, role)
        admin.execute(f"ALTER ROLE {role} SET idle_session_timeout = '500ms'")
        admin.execute(f"GRANT CONNECT ON DATABASE {WAREHOUSE_DB} TO {role}")
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    connection = make_connection(org_a, "pg-idle", "postgres", {"dsn": pg_warehouse_dsn.replace(CHECKER_ROLE, role)})
    connector = connector_for(connection)
    tag = QueryTag(organization="org-a", connection_id="pg-idle", check_id="c")
    with ThreadPoolExecutor(max_workers=2) as pool:  # two pooled sessions
        list(pool.map(lambda _: connector.fetch("SELECT 0 FROM pg_sleep(0.2)", max_rows=2, tag=tag), range(2)))
    time.sleep(1.2)  # both sessions ended by the server
    assert connector.fetch(NEGATIVE_AMOUNTS, max_rows=2, tag=tag).rows == [(1,)]
