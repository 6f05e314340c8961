"""POST /api/v1/checks/execute on real SQLite files: results, the safety layers, the path rules."""

import os
import sqlite3

import pytest

from catalog.models import Connection
from checks.connectors import QueryTag, WarehouseQueryError, connector_for
from checks.models import CheckResult
from orgs.models import Role, UsageCounter
from tests.checks.corpus import DANGEROUS_SQL
from tests.checks.factories import make_connection, make_run, register_pipeline
from tests.checks.snapshots import sqlite_snapshot
from workflows.usage import organization_usage

NEGATIVE_AMOUNTS = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"


@pytest.fixture
def shop(org_a, sqlite_warehouse):
    return make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})


def execute(client, payload, slash=False):
    return client.post("/api/v1/checks/execute/" if slash else "/api/v1/checks/execute", payload, format="json")


def test_a_failing_check_is_recorded_and_answered(client_a, shop):
    response = execute(client_a, {"connection_id": "shop", "sql": NEGATIVE_AMOUNTS, "check_id": "chk_negative"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["violations"], body["threshold"]) == ("fail", 1, 0)
    assert body["connection_id"] == "shop"
    assert body["sql"] == NEGATIVE_AMOUNTS
    assert body["duration_ms"] >= 0
    stored = CheckResult.objects.unscoped().get(result_id=body["result_id"])
    assert (stored.status, stored.violations) == ("fail", 1)


def test_a_passing_check_with_the_trailing_slash(client_a, shop):
    sql = "SELECT COUNT(*) FROM orders WHERE order_id IS NULL"
    response = execute(client_a, {"connection_id": "shop", "sql": sql, "check_id": "chk_ids"}, slash=True)
    assert (response.status_code, response.json()["status"]) == (201, "pass")


def test_the_violations_column_is_used_when_it_is_not_first(client_a, shop):
    sql = "SELECT 'note' AS label, COUNT(*) AS violations FROM orders WHERE is_late = 1"
    assert execute(client_a, {"connection_id": "shop", "sql": sql, "check_id": "chk_late"}).json()["violations"] == 1


def test_a_registered_check_supplies_its_sql_threshold_and_links_the_run(client_a, org_a, shop):
    pipeline = register_pipeline(
        org_a,
        "orders_sync",
        checks=[
            {
                "id": "chk_negative",
                "dataset": "orders",
                "connection_id": "shop",
                "severity": "warn",
                "sql": NEGATIVE_AMOUNTS,
                "threshold": 1,
            }
        ],
    )
    make_run(org_a, pipeline, "run-abc123")
    response = execute(client_a, {"check_id": "chk_negative", "run_id": "run-abc123"})
    body = response.json()
    assert response.status_code == 201, body
    assert (body["status"], body["severity"], body["threshold"]) == ("pass", "warn", 1)
    assert (body["pipeline"], body["run_id"], body["dataset"]) == ("orders_sync", "run-abc123", "orders")
    assert CheckResult.objects.unscoped().get(result_id=body["result_id"]).check_definition.check_id == "chk_negative"


def test_the_same_result_id_does_not_run_twice(client_a, shop):
    payload = {"connection_id": "shop", "sql": NEGATIVE_AMOUNTS, "check_id": "chk", "result_id": "exec-1"}
    first, second = execute(client_a, payload), execute(client_a, payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert CheckResult.objects.unscoped().count() == 1
    assert organization_usage(shop.organization)["check_executions_per_month"] == 1


@pytest.mark.parametrize(("written_for", "sql"), DANGEROUS_SQL)
def test_dangerous_sql_is_refused_runs_nothing_and_changes_nothing(client_a, shop, sqlite_warehouse, written_for, sql):
    before = sqlite_snapshot(sqlite_warehouse)
    response = execute(client_a, {"connection_id": "shop", "sql": sql, "check_id": "chk_evil"})
    assert response.status_code == 400, (sql, response.content)
    assert response.json()["sql"]
    assert sqlite_snapshot(sqlite_warehouse) == before
    assert not CheckResult.objects.unscoped().exists()
    assert not UsageCounter.objects.unscoped().exists()  # a refusal is not a counted execution


def test_the_connection_refuses_writes_even_past_the_parser(org_a, shop, sqlite_warehouse):
    """The second layer on its own: read-only URI, query_only and the authorizer."""
    before = sqlite_snapshot(sqlite_warehouse)
    connector = connector_for(shop)
    tag = QueryTag(organization="org-a", connection_id="shop")
    for sql in [
        "DELETE FROM orders",
        "UPDATE orders SET amount = 0",
        "CREATE TABLE x (a int)",
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA query_only = OFF",
    ]:
        with pytest.raises(WarehouseQueryError):
            connector.fetch(sql, max_rows=2, tag=tag)
    assert sqlite_snapshot(sqlite_warehouse) == before
    assert connector.fetch("SELECT COUNT(*) FROM orders", max_rows=2, tag=tag).rows == [(4,)]


def test_a_runaway_query_is_interrupted_at_the_statement_timeout(client_a, org_a, sqlite_warehouse):
    make_connection(org_a, "slow", "sqlite", {"path": str(sqlite_warehouse), "statement_timeout_seconds": 0.3})
    sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT COUNT(*) FROM n"
    response = execute(client_a, {"connection_id": "slow", "sql": sql, "check_id": "chk_slow"})
    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "error"
    assert "interrupted after 0.3 s" in body["error_message"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 'many'", "must be a number"),
        ("SELECT NULL", "must be a number"),
        ("SELECT order_id FROM orders", "more than one row"),
        ("SELECT order_id FROM orders WHERE order_id > 100", "no row"),
        ("SELECT COUNT(*) FROM missing_table", "no such table"),
    ],
)
def test_unusable_answers_and_sql_errors_are_error_results(client_a, shop, sql, message):
    response = execute(client_a, {"connection_id": "shop", "sql": sql, "check_id": "chk"})
    assert response.status_code == 201
    assert response.json()["status"] == "error"
    assert message in response.json()["error_message"]


def test_a_missing_file_is_a_502_with_a_recorded_error(client_a, org_a, allowed_dir):
    make_connection(org_a, "gone", "sqlite", {"path": str(allowed_dir / "gone.sqlite3")})
    response = execute(client_a, {"connection_id": "gone", "sql": "SELECT 0", "check_id": "chk"})
    assert response.status_code == 502
    assert response.json()["status"] == "error"
    assert CheckResult.objects.unscoped().get().status == "error"
    assert not os.path.exists(allowed_dir / "gone.sqlite3")  # read-only mode never creates the file


def test_a_path_outside_the_allowed_directories_is_refused(client_a, org_a, tmp_path, allowed_dir):
    outside = tmp_path / "outside.sqlite3"
    sqlite3.connect(outside).close()
    (allowed_dir / "link.sqlite3").symlink_to(outside)
    for name, path in [
        ("outside", str(outside)),
        ("link", str(allowed_dir / "link.sqlite3")),
        ("dotdot", str(allowed_dir / ".." / "outside.sqlite3")),
        ("uri", f"file:{outside}?mode=rw"),
    ]:
        make_connection(org_a, name, "sqlite", {"path": path})
        response = execute(client_a, {"connection_id": name, "sql": "SELECT 0", "check_id": "chk"})
        assert response.status_code == 400, (name, response.content)
        assert "connection_id" in response.json()
    assert not CheckResult.objects.unscoped().exists()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_catalogs_own_database_can_never_be_opened(client_a, org_a, settings, allowed_dir):
    """A catalog running on SQLite, its file under (or linked into) an allowed directory."""
    catalog_file = allowed_dir / "catalog.sqlite3"
    sqlite3.connect(catalog_file).close()
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3", "NAME": str(catalog_file)},
    }
    (allowed_dir / "alias.sqlite3").symlink_to(catalog_file)
    os.link(catalog_file, allowed_dir / "hardlink.sqlite3")
    for name in ["catalog.sqlite3", "alias.sqlite3", "hardlink.sqlite3"]:
        Connection.objects.create(
            organization=org_a, connection_id=name.split(".")[0], type="sqlite", config={"path": name}
        )
        response = execute(client_a, {"connection_id": name.split(".")[0], "sql": "SELECT 0", "check_id": "c"})
        assert response.status_code == 400, name
        assert "catalog's own database" in response.json()["connection_id"][0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sql": "SELECT 0", "check_id": "c"}, "connection_id"),
        ({"connection_id": "nope", "sql": "SELECT 0", "check_id": "c"}, "connection_id"),
        ({"connection_id": "shop", "check_id": "c"}, "sql"),
        ({"connection_id": "shop", "sql": "SELECT 0"}, "check_id"),
        ({"connection_id": "shop", "sql": "SELECT 0", "check_id": "c", "run_id": "run-unknown"}, "run_id"),
        ({"connection_id": "shop", "sql": "SELECT 0", "check_id": "c", "threshold": "high"}, "threshold"),
    ],
)
def test_bad_requests_are_400_and_run_nothing(client_a, shop, payload, field):
    response = execute(client_a, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CheckResult.objects.unscoped().exists()


def test_another_organizations_connection_and_run_do_not_resolve(client_b, org_a, org_b, shop):
    pipeline = register_pipeline(org_a, "orders_sync")
    make_run(org_a, pipeline, "run-of-a")
    response = execute(client_b, {"connection_id": "shop", "sql": "SELECT 0", "check_id": "c"})
    assert (response.status_code, list(response.json())) == (400, ["connection_id"])
    make_connection(org_b, "own", "sqlite", {"path": shop.config["path"]})
    response = execute(client_b, {"connection_id": "own", "sql": "SELECT 0", "check_id": "c", "run_id": "run-of-a"})
    assert (response.status_code, list(response.json())) == (400, ["run_id"])
    assert not CheckResult.objects.unscoped().exists()


def test_a_read_key_cannot_execute(make_client, org_a, shop):
    response = execute(make_client(org_a, Role.READ), {"connection_id": "shop", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 403
    assert not CheckResult.objects.unscoped().exists()


def test_executions_count_against_the_monthly_quota(client_a, org_a, shop, settings):
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "check_executions_per_month": 2},
    }
    payload = {"connection_id": "shop", "sql": "SELECT 0", "check_id": "c"}
    assert [execute(client_a, payload).status_code for _ in range(3)] == [201, 201, 402]
    assert CheckResult.objects.unscoped().count() == 2
    assert organization_usage(org_a)["check_executions_per_month"] == 2


def test_connectors_are_cached_per_connection_and_replaced_when_the_config_changes(org_a, shop, sqlite_warehouse):
    first = connector_for(shop)
    assert connector_for(Connection.objects.unscoped().get(pk=shop.pk)) is first
    shop.config = {**shop.config, "statement_timeout_seconds": 5}
    shop.save()
    second = connector_for(shop)
    assert second is not first
    assert second.timeout_seconds == 5


@pytest.mark.parametrize("timeout", ["soon", -1, 0])
def test_a_bad_statement_timeout_is_refused(client_a, org_a, sqlite_warehouse, timeout):
    make_connection(org_a, "bad", "sqlite", {"path": str(sqlite_warehouse), "statement_timeout_seconds": timeout})
    response = execute(client_a, {"connection_id": "bad", "sql": "SELECT 0", "check_id": "c"})
    assert response.status_code == 400
    assert "statement_timeout_seconds" in response.json()["connection_id"][0]


def test_the_statement_timeout_is_capped(org_a, sqlite_warehouse):
    connection = make_connection(
        org_a, "long", "sqlite", {"path": str(sqlite_warehouse), "statement_timeout_seconds": 10_000}
    )
    assert connector_for(connection).timeout_seconds == 300


def test_each_organization_reaches_only_its_own_directory(client_b, org_a, org_b, shop, allowed_dir):
    """Org B's paths into org A's directory: relative, absolute, through a symlink in B's own directory."""
    own_dir = allowed_dir.parent / "org-b"
    own_dir.mkdir()
    (own_dir / "link.sqlite3").symlink_to(allowed_dir / "shop.sqlite3")
    for name, path in [
        ("rel", "../org-a/shop.sqlite3"),
        ("abs", str(allowed_dir / "shop.sqlite3")),
        ("link", "link.sqlite3"),
        ("root", str(allowed_dir.parent / "x.sqlite3")),
    ]:
        make_connection(org_b, name, "sqlite", {"path": path})
        response = execute(client_b, {"connection_id": name, "sql": NEGATIVE_AMOUNTS, "check_id": "chk"})
        assert response.status_code == 400, (name, response.content)
        assert "<allowed dir>/org-b/" in response.json()["connection_id"][0]
    assert not CheckResult.objects.unscoped().exists()


def test_a_relative_path_is_taken_from_the_organizations_directory(client_a, org_a, shop):
    make_connection(org_a, "relative", "sqlite", {"path": "shop.sqlite3"})
    response = execute(client_a, {"connection_id": "relative", "sql": NEGATIVE_AMOUNTS, "check_id": "chk"})
    assert (response.status_code, response.json()["violations"]) == (201, 1)


def test_nested_allowed_directories_disable_sqlite(client_a, org_a, shop, settings, allowed_dir):
    """With `/w` and `/w/org-a` both allowed, org X's `/w/org-a/X/` would lie inside org A's directory."""
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(allowed_dir.parent), str(allowed_dir)]
    response = execute(client_a, {"connection_id": "shop", "sql": NEGATIVE_AMOUNTS, "check_id": "chk"})
    assert response.status_code == 400
    assert "must not nest" in response.json()["connection_id"][0]


_WIDE = "WITH t(x) AS (SELECT zeroblob(1000000)) SELECT 0 AS violations, " + ", ".join(["x"] * 1999) + " FROM t"
_HEAVY = "WITH t(x) AS (SELECT zeroblob(900000)) SELECT 0 AS violations, x, x FROM t"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT length(zeroblob(300000000)) AS violations", "too big"),
        ("SELECT 0 AS violations, zeroblob(300000000)", "too big"),
        ("SELECT length(hex(zeroblob(200000000))) AS violations", "too big"),
        (_WIDE, "at most 16"),
        (_HEAVY, "too large"),
    ],
)
def test_huge_results_are_error_results_not_a_full_worker(client_a, shop, sql, message):
    response = execute(client_a, {"connection_id": "shop", "sql": sql, "check_id": "chk_big"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "error"
    assert message in response.json()["error_message"]


_MEASURE = """
import resource, sys
import django
django.setup()
from checks.connectors.base import QueryTag
from checks.connectors.sqlite import SqliteConnector
connector = SqliteConnector(path=sys.argv[1], config={}, timeout_seconds=20, label="big")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for sql in sys.argv[2:]:
    try:
        connector.fetch(sql, max_rows=2, tag=QueryTag("org-a", "big"))
    except Exception as exc:
        print(type(exc).__name__, file=sys.stderr)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_the_workers_memory_stays_flat_under_blob_attacks(sqlite_warehouse):
    """Measured in a fresh process, whose peak memory is not the test suite's."""
    import subprocess
    import sys

    attacks = ["SELECT 0 AS violations, zeroblob(300000000)", "SELECT 0, hex(zeroblob(200000000))", _WIDE, _HEAVY]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(sqlite_warehouse), *attacks],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    growth_mb = int(done.stdout.strip().splitlines()[-1])
    assert done.stderr.count("WarehouseQueryError") == len(attacks), done.stderr
    assert growth_mb < 40, f"peak memory grew by {growth_mb} MB"
