"""`seed_demo`'s checks part: a SQLite warehouse, its connection, passing and failing results, idempotent."""

import io

from catalog.models import Connection
from checks.models import CheckResult
from tests.checks.factories import make_run, register_pipeline
from workflows.demo import checks as demo


def test_seed_creates_the_warehouse_connection_and_results(org_a, allowed_dir):
    demo.seed(org_a, io.StringIO())
    connection = Connection.objects.unscoped().get(organization=org_a, connection_id="demo-warehouse")
    assert connection.type == "sqlite"
    assert connection.config["path"] == "demo_warehouse.sqlite3"  # relative to the organization's directory
    assert (allowed_dir / "demo_warehouse.sqlite3").is_file()
    statuses = dict(CheckResult.objects.unscoped().filter(organization=org_a).values_list("check_id", "status"))
    assert statuses == {"chk_order_id_unique": "pass", "chk_revenue_not_negative": "fail", "chk_freshness": "fail"}


def test_seed_attaches_results_to_the_demo_pipelines_runs_and_is_idempotent(org_a, tmp_path, settings, client_a):
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "not-yet-created")]
    pipeline = register_pipeline(
        org_a, "orders_sync", checks=[{"id": "chk_revenue_not_negative", "dataset": "orders_daily", "severity": "warn"}]
    )
    make_run(org_a, pipeline, "run-1", status="success")
    make_run(org_a, pipeline, "run-2", status="failed")
    output = io.StringIO()
    demo.seed(org_a, output)
    demo.seed(org_a, output)
    assert CheckResult.objects.unscoped().filter(organization=org_a).count() == 6  # 3 checks x 2 runs, once
    assert Connection.objects.unscoped().filter(organization=org_a).count() == 1
    assert "0 new result(s)" in output.getvalue()
    body = client_a.get("/api/v1/checks/results?pipeline=orders_sync&status=fail").json()
    assert {row["check_id"] for row in body["results"]} == {"chk_revenue_not_negative", "chk_freshness"}
    assert {row["run_id"] for row in body["results"]} == {"run-1", "run-2"}
    severities = {row["check_id"]: row["severity"] for row in body["results"]}
    assert severities["chk_revenue_not_negative"] == "warn"  # from the registered definition
