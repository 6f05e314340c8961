"""Detection reads the tables, so every write path raises its alert: run events (single, batch, PATCH),
OpenLineage FAIL (single, batch), results posted, executed, or reported as OpenLineage assertions; and
late pipelines, once per missed slot. Nothing is proposed for what the issue does not alert on."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts import detection, sweep
from alerts.models import Alert
from catalog import services as catalog_services
from catalog.models import Pipeline
from tests.lineage.test_ingest_api import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(admin_client, org_a):
    client = admin_client(org_a)
    response = client.post(
        "/api/v1/alerts/",
        {
            "name": "all",
            "events": ["run_failed", "check_failed", "pipeline_late"],
            "destination": {"type": "email", "to": "ops@example.com"},
        },
        format="json",
    )
    assert response.status_code == 201
    return client


def keys():
    return sorted(Alert.objects.unscoped().values_list("dedup_key", flat=True))


def test_run_events_single_batch_and_patch(rule, org_a, pipeline_of):
    pipeline_of(org_a)
    assert (
        rule.post(
            "/api/v1/runs", {"pipeline_id": "orders_sync", "status": "failed", "run_id": "r1"}, format="json"
        ).status_code
        == 201
    )
    batch = [
        {"pipeline_id": "orders_sync", "status": "failed", "run_id": "r2"},
        {"pipeline_id": "orders_sync", "status": "success", "run_id": "r3"},
    ]
    assert rule.post("/api/v1/runs/batch", batch, format="json").status_code == 200
    assert (
        rule.post(
            "/api/v1/runs", {"pipeline_id": "orders_sync", "status": "running", "run_id": "r4"}, format="json"
        ).status_code
        == 201
    )
    assert rule.patch("/api/v1/runs/r4", {"status": "failed"}, format="json").status_code == 200
    sweep.run()
    assert keys() == ["run:r1", "run:r2", "run:r4"]


def test_openlineage_fail_single_and_batch_even_with_an_old_event_time(rule, org_a):
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    old = "2025-01-01T00:00:00Z"  # a backfill reporting late: its run's times are in the past
    assert rule.post("/api/v1/lineage", event("FAIL", one, when=old, job="nightly"), format="json").status_code == 201
    batch = [event("START", two, job="nightly"), event("FAIL", two, job="nightly")]
    assert rule.post("/api/v1/lineage/batch", batch, format="json").status_code in (200, 201)
    sweep.run()
    assert keys() == sorted([f"run:{one}", f"run:{two}"])


def test_check_results_posted_by_severity_and_status(rule, org_a):
    cases = [
        ("error-fail", "error", "fail", True),
        ("warn-fail", "warn", "fail", True),
        ("error-error", "error", "error", True),
        ("warn-error", "warn", "error", True),
        ("info-fail", "info", "fail", False),
        ("error-pass", "error", "pass", False),
    ]
    for result_id, severity, status, _ in cases:
        violations = 0 if status == "pass" else 3
        body = {
            "check_id": result_id,
            "result_id": result_id,
            "status": status,
            "severity": severity,
            "violations": violations,
        }
        if status == "error":
            body = {**body, "violations": None, "error_message": "warehouse down"}
        assert rule.post("/api/v1/checks/results", body, format="json").status_code == 201, result_id
    sweep.run()
    assert keys() == sorted(f"result:{rid}" for rid, _, _, alerts in cases if alerts)


def test_an_executed_check_that_could_not_run(rule, org_a, settings):
    catalog_services.create_connection(
        organization=org_a,
        connection_id="wh",
        connection_type="postgres",
        config={"host": "warehouse.invalid", "database": "x", "user": "reporter"},
    )
    response = rule.post(
        "/api/v1/checks/execute",
        {"check_id": "adhoc", "connection_id": "wh", "sql": "SELECT 0 AS violations"},
        format="json",
    )
    assert response.status_code in (200, 201, 202, 502), response.content
    sweep.run()
    [alert] = Alert.objects.unscoped()
    assert alert.event == "check_failed" and alert.check_id == "adhoc" and alert.payload["status"] == "error"


def test_openlineage_assertions(rule, org_a):
    assertions = {
        "assertions": [
            {"assertion": "unique", "column": "id", "success": False},
            {"assertion": "not_null", "column": "id", "success": True},
        ]
    }
    inputs = [{"namespace": "pg", "name": "public.orders", "inputFacets": {"dataQualityAssertions": assertions}}]
    assert (
        rule.post(
            "/api/v1/lineage", event("COMPLETE", str(uuid.uuid4()), job="orders", inputs=inputs), format="json"
        ).status_code
        == 201
    )
    sweep.run()
    [alert] = Alert.objects.unscoped()
    assert alert.check_id == "unique:id"


def test_a_late_pipeline_fires_once_per_missed_slot(rule, org_a, pipeline_of):
    pipeline = pipeline_of(org_a)
    slot = datetime(2026, 1, 1, 6, tzinfo=UTC)
    late = Pipeline.objects.unscoped().filter(pk=pipeline.pk)
    # What the lateness detector (catalog/lateness.py) writes; written directly here, the alert reads it.
    late.update(late_slot=slot, late_reason="missed_slot", late_detected_at=slot + timedelta(minutes=15))
    sweep.run()
    sweep.run(timezone.now() + timedelta(minutes=1))
    late.update(late_slot=None, late_reason="")  # a run arrived
    sweep.run(timezone.now() + timedelta(minutes=2))
    late.update(late_slot=slot + timedelta(days=1), late_reason="missed_slot")  # the next slot is missed too
    sweep.run(timezone.now() + timedelta(minutes=3))
    assert keys() == ["late:orders_sync@2026-01-01T06:00:00+00:00", "late:orders_sync@2026-01-02T06:00:00+00:00"]
    first = Alert.objects.unscoped().order_by("late_slot").first()
    assert first.payload["late_reason"] == "missed_slot" and first.late_slot == slot


def test_detection_of_another_organizations_rows_needs_its_own_rule(rule, org_a, org_b, pipeline_of, fail_run):
    fail_run(org_b, pipeline_of(org_b), "b-run")
    fail_run(org_a, pipeline_of(org_a), "a-run")
    detection.detect()
    assert [(a.organization.slug, a.run_id) for a in Alert.objects.unscoped().select_related("organization")] == [
        ("org-a", "a-run")
    ]


def test_a_pass_without_rules_reads_nothing_else(django_assert_max_num_queries, org_a, pipeline_of, fail_run):
    detection.detect()  # the first pass creates the watermark
    fail_run(org_a, pipeline_of(org_a), "a-run")
    # A savepoint, the watermark (locked), the rules, the watermark moved, the release: no history read.
    with django_assert_max_num_queries(5):
        detection.detect()
    assert not Alert.objects.unscoped().exists()


def test_a_pass_with_rules_runs_a_constant_number_of_queries(
    rule, org_a, pipeline_of, fail_run, django_assert_max_num_queries
):
    detection.detect()  # the first pass creates the watermark
    pipeline = pipeline_of(org_a)
    for n in range(20):
        fail_run(org_a, pipeline, f"run-{n}")
    # The watermark, the rules, failed runs, failed results, late pipelines, one insert, the watermark moved
    # (and the savepoint around them), whatever the number of rows.
    with django_assert_max_num_queries(9):
        detection.detect()
    assert Alert.objects.unscoped().count() == 20


def test_a_burst_larger_than_a_batch_is_read_whole_and_stalls_no_other_organization(
    rule, org_a, org_b, admin_client, pipeline_of, fail_run, monkeypatch
):
    """Attack: one organization fails more runs within the re-read overlap than a pass reads at once. Read by
    timestamp alone, every later pass would re-read the same first rows from `watermark - overlap` and never
    move on: the burst's other runs, and every other organization's failures, would never alert."""
    monkeypatch.setattr(detection, "BATCH", 3)
    admin_client(org_b).post(
        "/api/v1/alerts/",
        {"name": "b", "events": ["run_failed"], "destination": {"type": "email", "to": "b@example.com"}},
        format="json",
    )
    noisy = pipeline_of(org_b)
    for n in range(7):
        fail_run(org_b, noisy, f"burst-{n}")
    detection.detect()
    fail_run(org_a, pipeline_of(org_a), "victim-run")
    detection.detect(timezone.now() + timedelta(seconds=20))

    assert Alert.objects.unscoped().filter(organization=org_b).count() == 7
    assert Alert.objects.unscoped().filter(organization=org_a).values_list("run_id", flat=True).get() == "victim-run"
