"""`seed_demo`'s checks part: a SQLite warehouse, its connection, and results on the demo's own new runs only."""

import io

from catalog.models import Connection
from checks.models import CheckResult
from orgs.models import UsageCounter
from tests.checks.factories import make_run, register_pipeline
from workflows.demo import checks as demo


def test_seed_creates_the_warehouse_and_connection_and_executes_nothing_without_new_runs(org_a, allowed_dir):
    output = io.StringIO()
    demo.seed(org_a, output)
    connection = Connection.objects.unscoped().get(organization=org_a, connection_id="demo-warehouse")
    assert connection.type == "sqlite"
    assert connection.config["path"] == "demo_warehouse.sqlite3"  # relative to the organization's directory
    assert (allowed_dir / "demo_warehouse.sqlite3").is_file()
    assert not CheckResult.objects.unscoped().filter(organization=org_a).exists()
    assert not UsageCounter.objects.unscoped().filter(organization=org_a, metric="check_executions_per_month").exists()
    assert "0 new result(s), none executed" in output.getvalue()


def test_results_attach_only_to_the_new_demo_runs_given_and_only_once(org_a, tmp_path, settings, client_a):
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "not-yet-created")]
    pipeline = register_pipeline(
        org_a, "orders_sync", checks=[{"id": "chk_revenue_not_negative", "dataset": "orders_daily", "severity": "warn"}]
    )
    demo_runs = [make_run(org_a, pipeline, "run-1", status="success"), make_run(org_a, pipeline, "run-2")]
    make_run(org_a, pipeline, "users-own-run", status="failed")  # newest, but not the demo's
    output = io.StringIO()
    demo.seed(org_a, output, new_runs=demo_runs)
    demo.seed(org_a, output, new_runs=demo_runs)
    assert CheckResult.objects.unscoped().filter(organization=org_a).count() == 6  # 3 checks x 2 runs, once
    assert Connection.objects.unscoped().filter(organization=org_a).count() == 1
    assert "0 new result(s)" in output.getvalue()
    body = client_a.get("/api/v1/checks/results?pipeline=orders_sync&status=fail").json()
    assert {row["check_id"] for row in body["results"]} == {"chk_revenue_not_negative", "chk_freshness"}
    assert {row["run_id"] for row in body["results"]} == {"run-1", "run-2"}
    severities = {row["check_id"]: row["severity"] for row in body["results"]}
    assert severities["chk_revenue_not_negative"] == "warn"  # from the registered definition
