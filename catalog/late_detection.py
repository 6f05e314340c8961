"""The late-pipeline pass over every organization (beat runs it every minute: catalog.tasks).

It reads scheduled, unpaused pipelines in primary-key batches, each batch one query that also reads each
pipeline's latest run (a correlated subquery on the (pipeline, -created_at, -id) index, never the history),
plus one `usual_durations` query for the batch's pipelines whose latest run is running. It writes only the
pipelines whose verdict changed: the newly late or late for a new slot in one bulk UPDATE, the back on time
in another. The rule itself is catalog.lateness.

The pass never locks a pipeline for longer than its batch's UPDATE. A run arriving while the pass runs is
seen by the next pass (a minute later), which clears the lateness: the run-event write paths stay as they are.
Likewise a pipeline paused while its batch is judged is cleared by the next pass's first statement.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, router
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from catalog.lateness import ON_TIME, LatestRun, judge
from catalog.models import Pipeline, Run
from catalog.selectors import usual_durations

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class PassSummary:
    judged: int = 0
    became_late: int = 0
    cleared: int = 0


def _all_pipelines():
    # unscoped: the pass judges every organization's pipelines; each row is written back only to itself.
    return Pipeline.objects.unscoped()


def _scheduled_batch(after_pk: int, batch_size: int) -> list[dict]:
    latest = Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at", "-id")
    return list(
        _all_pipelines()
        .filter(pk__gt=after_pk, paused=False)
        .exclude(schedule="")
        .annotate(
            run_status=Subquery(latest.values("status")[:1]),
            run_created_at=Subquery(latest.values("created_at")[:1]),
            run_started_at=Subquery(latest.values("started_at")[:1]),
        )
        .order_by("pk")
        .values(
            "pk",
            "schedule",
            "schedule_timezone",
            "late_grace_minutes",
            "expected_since",
            "created_at",
            "late_reason",
            "late_slot",
            "run_status",
            "run_created_at",
            "run_started_at",
        )[:batch_size]
    )


def _latest_run(row) -> LatestRun | None:
    if row["run_created_at"] is None:
        return None
    return LatestRun(status=row["run_status"], created_at=row["run_created_at"], started_at=row["run_started_at"])


def _judge_batch(rows: list[dict], now: datetime) -> tuple[list[Pipeline], list[int]]:
    """(pipelines to mark late with their new slot, pks to clear)."""
    running = [row["pk"] for row in rows if row["run_status"] == "running" and row["run_started_at"]]
    usual = usual_durations(running)
    late, cleared = [], []
    for row in rows:
        verdict = judge(
            schedule=row["schedule"],
            timezone_name=row["schedule_timezone"],
            grace_minutes=row["late_grace_minutes"],
            expected_since=row["expected_since"] or row["created_at"],
            latest_run=_latest_run(row),
            usual=usual.get(row["pk"]),
            now=now,
        )
        if verdict is None:
            if row["late_slot"] is not None:
                cleared.append(row["pk"])
        elif (verdict.reason, verdict.slot) != (row["late_reason"], row["late_slot"]):
            late.append(
                Pipeline(pk=row["pk"], late_reason=verdict.reason, late_slot=verdict.slot, late_detected_at=now)
            )
    return late, cleared


_MARK_LATE_SQL = """
UPDATE catalog_pipeline AS p SET late_reason = v.reason, late_slot = v.slot, late_detected_at = %s
FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS reason, unnest(%s::timestamptz[]) AS slot) AS v
WHERE p.id = v.id
"""


def _mark_late(late: list[Pipeline], now: datetime) -> None:
    """Each pipeline's own reason and slot: one statement on PostgreSQL (Django's bulk_update builds a CASE
    per row and field, seconds of Python for a thousand rows); elsewhere one UPDATE per (reason, slot)."""
    database = connections[router.db_for_write(Pipeline)]
    if database.vendor == "postgresql":
        params = [now, [p.pk for p in late], [str(p.late_reason) for p in late], [p.late_slot for p in late]]
        # The statement updates only the pipelines it names, each from its own row of the values.
        with database.cursor() as cursor:
            cursor.execute(_MARK_LATE_SQL, params)
        return
    groups: dict[tuple, list[int]] = {}
    for pipeline in late:
        groups.setdefault((pipeline.late_reason, pipeline.late_slot), []).append(pipeline.pk)
    for (reason, slot), pks in groups.items():
        _all_pipelines().filter(pk__in=pks).update(late_reason=reason, late_slot=slot, late_detected_at=now)


def detect_late_pipelines(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> PassSummary:
    """Set or clear the lateness fields of every organization's pipelines, as of `now`."""
    now = now or timezone.now()
    summary = PassSummary()
    # Paused or unscheduled since they were marked: never late.
    summary.cleared += (
        _all_pipelines().filter(late_slot__isnull=False).filter(Q(paused=True) | Q(schedule="")).update(**ON_TIME)
    )
    after_pk = 0
    while True:
        rows = _scheduled_batch(after_pk, batch_size)
        if not rows:
            break
        after_pk = rows[-1]["pk"]
        late, cleared = _judge_batch(rows, now)
        if late:
            _mark_late(late, now)
        if cleared:
            _all_pipelines().filter(pk__in=cleared).update(**ON_TIME)
        summary.judged += len(rows)
        summary.became_late += len(late)
        summary.cleared += len(cleared)
        if len(rows) < batch_size:
            break
    if summary.became_late or summary.cleared:
        logger.info(
            "late pipelines: %d judged, %d newly late, %d back on time",
            summary.judged,
            summary.became_late,
            summary.cleared,
        )
    return summary
