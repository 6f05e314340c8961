"""The incident the browser tests (and the screenshots) show: the demo organization, plus a failed
revenue_report run whose checks failed and errored, and a second organization the operator's
organization user must never see."""

import copy
import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Pipeline, RunStatus
from checks import services as check_services
from orgs.models import Organization
from workflows import pipeline_spec
from workflows.demo.catalog import REVENUE_REPORT
from workflows.demo.checks import CONNECTION_ID
from workflows.registration import register_pipeline

FAILED_RUN_ID = "revenue_report__manual__incident-42"


def seed_incident(settings, tmp_path) -> Organization:
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "warehouses")]
    call_command("seed_demo", stdout=io.StringIO())
    demo = Organization.objects.get(slug="demo")
    register_pipeline(organization=demo, spec=pipeline_spec.parse(revenue_report_v3()))
    pipeline = Pipeline.objects.unscoped().get(organization=demo, name="revenue_report")
    started = timezone.now() - timedelta(minutes=40)
    for status, at in ((RunStatus.RUNNING, started), (RunStatus.FAILED, started + timedelta(minutes=12, seconds=5))):
        catalog_services.apply_run_event(
            organization=demo,
            pipeline=pipeline,
            status=status,
            run_id=FAILED_RUN_ID,
            started_at=started,
            finished_at=at if status == RunStatus.FAILED else None,
        )
    check_services.execute_check(
        demo,
        check_id="chk_revenue_positive",
        connection_id=CONNECTION_ID,
        sql="SELECT COUNT(*) AS violations FROM orders_daily WHERE revenue < 0",
        run_id=FAILED_RUN_ID,
        pipeline_name="revenue_report",
        severity="error",
        result_id="incident-42-revenue",
    )
    check_services.execute_check(
        demo,
        check_id="chk_regions_known",
        connection_id=CONNECTION_ID,
        sql="SELECT COUNT(*) AS violations FROM regions_missing_table",
        run_id=FAILED_RUN_ID,
        pipeline_name="revenue_report",
        severity="warn",
        result_id="incident-42-regions",
    )
    return demo


def revenue_report_v3() -> dict:
    """What changed before the incident: an earlier schedule and a new error-severity check."""
    spec = copy.deepcopy(REVENUE_REPORT)
    spec["version"] = "3"
    spec["schedule"] = "30 6 * * 1-5"
    spec["checks"].append(
        {
            "id": "chk_revenue_positive",
            "dataset": "revenue_by_region",
            "type": "validity",
            "severity": "error",
            "sql": "SELECT COUNT(*) AS violations FROM reporting.revenue_by_region WHERE revenue < 0",
            "threshold": 0,
        }
    )
    return spec
