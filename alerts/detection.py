"""Finding what to alert on, by reading the tables every write path ends in, not by hooking the write paths.

Runs fail through POST/PATCH /runs, /runs/batch, OpenLineage FAIL events (single and batch); check results
arrive from executions, POST /checks/results and OpenLineage assertions. All of them end as rows of
catalog_run and checks_checkresult, so a periodic pass reading those rows since its watermark catches every
path without adding a statement to any of them. The pass re-reads an overlap before its watermark (a
transaction that commits a little after its rows' timestamps is still seen); the unique (rule, subject) key
makes a row seen twice one alert. Late pipelines are read as they are now (`late_slot` not null): one alert
per missed slot. A pass reads everything since its watermark, a batch at a time by keyset, so a burst of
failures larger than a batch never pins the watermark.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import chain

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts import services
from alerts.models import Alert, AlertEventType, AlertRule, DetectionWatermark
from catalog.models import Pipeline, Run, RunStatus
from checks.models import CheckResult, CheckStatus, Severity

WATERMARK = "alerts.detection"
OVERLAP = timedelta(minutes=2)
# Rows of each kind read (and their alerts inserted) per query.
BATCH = 2000
ALERTING_SEVERITIES = (Severity.ERROR, Severity.WARN)
ALERTING_CHECK_STATUSES = (CheckStatus.FAIL, CheckStatus.ERROR)


def _iso(value):
    return value.isoformat() if value else None


def _rules_by_organization() -> dict[int, list[AlertRule]]:
    rules = defaultdict(list)
    # unscoped: the detection pass serves every organization with an enabled rule; each rule keeps its own.
    for rule in AlertRule.objects.unscoped().filter(enabled=True).select_related("organization"):
        rules[rule.organization_id].append(rule)
    return rules


def _pages(rows, time_field):
    """The rows of `rows` (values() with `id` and `time_field`), BATCH at a time in (time_field, id) order, by
    keyset. Every page is read in this pass: stopping at a full batch and starting the next pass `OVERLAP` before
    its last row would read the same rows again for ever once a burst put more than a batch in the overlap."""
    after = Q()
    while True:
        page = list(rows.filter(after).order_by(time_field, "id")[:BATCH])
        if page:
            yield page
        if len(page) < BATCH:
            return
        last = page[-1]
        after = Q(**{f"{time_field}__gt": last[time_field]}) | Q(**{time_field: last[time_field], "id__gt": last["id"]})


def _failed_runs(organizations, since, now):
    runs = (
        Run.objects.for_organizations(organizations)
        .filter(status=RunStatus.FAILED, updated_at__gte=since, updated_at__lte=now)
        .values("id", "organization_id", "run_id", "pipeline__name", "started_at", "finished_at", "updated_at")
    )
    for page in _pages(runs, "updated_at"):
        yield [
            (
                row["organization_id"],
                AlertEventType.RUN_FAILED,
                f"run:{row['run_id']}",
                {
                    "pipeline": row["pipeline__name"],
                    "run_id": row["run_id"],
                    "status": "failed",
                    "started_at": _iso(row["started_at"]),
                    "finished_at": _iso(row["finished_at"]),
                },
            )
            for row in page
        ]


def _failed_results(organizations, since, now):
    results = (
        CheckResult.objects.for_organizations(organizations)
        .filter(
            status__in=ALERTING_CHECK_STATUSES,
            severity__in=ALERTING_SEVERITIES,
            created_at__gte=since,
            created_at__lte=now,
        )
        .values(
            "id",
            "organization_id",
            "result_id",
            "check_id",
            "status",
            "severity",
            "violations",
            "threshold",
            "pipeline__name",
            "run__run_id",
            "executed_at",
            "error_message",
            "created_at",
        )
    )
    for page in _pages(results, "created_at"):
        yield [
            (
                row["organization_id"],
                AlertEventType.CHECK_FAILED,
                f"result:{row['result_id']}",
                {
                    "pipeline": row["pipeline__name"],
                    "run_id": row["run__run_id"],
                    "check_id": row["check_id"],
                    "result_id": row["result_id"],
                    "status": row["status"],
                    "severity": row["severity"],
                    "violations": row["violations"],
                    "threshold": row["threshold"],
                    "executed_at": _iso(row["executed_at"]),
                    "error_message": (row["error_message"] or "")[:300],
                },
            )
            for row in page
        ]


def _late_pipelines(organizations):
    late = (
        Pipeline.objects.for_organizations(organizations)
        .filter(late_slot__isnull=False)
        .values("organization_id", "name", "late_reason", "late_slot", "late_detected_at")
    )
    return [
        (
            row["organization_id"],
            AlertEventType.PIPELINE_LATE,
            f"late:{row['name']}@{row['late_slot'].isoformat()}",
            {
                "pipeline": row["name"],
                "late_reason": row["late_reason"],
                "late_slot": _iso(row["late_slot"]),
                "late_detected_at": _iso(row["late_detected_at"]),
            },
        )
        for row in late
    ]


def _alerts_for(subjects, rules_by_organization, now) -> list[Alert]:
    alerts = []
    for organization_id, event, dedup_key, facts in subjects:
        for rule in rules_by_organization.get(organization_id, ()):
            if event not in rule.events:
                continue
            payload = {"event": str(event), "organization": rule.organization.slug, **facts}
            alerts.append(
                Alert(
                    organization_id=organization_id,
                    rule=rule,
                    event=event,
                    dedup_key=dedup_key,
                    pipeline_name=facts.get("pipeline") or "",
                    run_id=facts.get("run_id") or "",
                    result_id=facts.get("result_id") or "",
                    check_id=facts.get("check_id") or "",
                    late_slot=datetime.fromisoformat(facts["late_slot"]) if facts.get("late_slot") else None,
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    return alerts


def detect(now=None) -> int:
    """One pass: records the alerts of every enabled rule since the watermark; returns how many it proposed
    (new ones and ones already recorded alike)."""
    now = now or timezone.now()
    with transaction.atomic():
        # The lock serializes passes (beat and a manual run at once); the first pass starts an overlap ago.
        watermark, _ = DetectionWatermark.objects.select_for_update().get_or_create(
            name=WATERMARK, defaults={"scanned_until": now}
        )
        rules = _rules_by_organization()
        proposed = 0
        if rules:
            organizations = list(rules)
            since = watermark.scanned_until - OVERLAP
            for subjects in chain(
                _failed_runs(organizations, since, now),
                _failed_results(organizations, since, now),
                [_late_pipelines(organizations)],
            ):
                alerts = _alerts_for(subjects, rules, now)
                services.record_alerts(alerts)
                proposed += len(alerts)
        if now > watermark.scanned_until:
            watermark.scanned_until = now
            watermark.save(update_fields=["scanned_until"])
    return proposed
