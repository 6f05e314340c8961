"""Writes for the catalog. The run lifecycle lives here and nowhere else.

Run events (from the API's POST/PATCH and from OpenLineage ingestion) all go through
`apply_run_event`, which locks the run row so that parallel deliveries of the same event
serialize, and applies these rules:

- queued -> running -> success | failed | cancelled; any forward step may be skipped.
- The same status again is a no-op (timestamps missing on the run are filled in).
- A terminal run never changes status again. A non-terminal event that is older than the run's
  end (a `running` whose started_at is not after finished_at) arrived late: it is absorbed
  without a status change. Anything else that would move a terminal run is a conflict (409).
"""

import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status as http_status
from rest_framework.exceptions import APIException

from catalog.models import TERMINAL_RUN_STATUSES, Pipeline, PipelineVersion, Run, RunStatus
from orgs.models import Organization

_STAGE = {RunStatus.QUEUED: 0, RunStatus.RUNNING: 1}


class Conflict(APIException):
    status_code = http_status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state of the resource."


@dataclass(frozen=True)
class RunEventOutcome:
    run: Run
    created: bool
    changed: bool


def new_run_id() -> str:
    return f"run-{secrets.token_hex(8)}"


def _stage(status: str) -> int:
    return _STAGE.get(status, 2)


def apply_run_event(
    *,
    organization: Organization,
    pipeline: Pipeline,
    status: str,
    run_id: str | None = None,
    started_at=None,
    finished_at=None,
    pipeline_version: PipelineVersion | None = None,
    attributes: dict | None = None,
) -> RunEventOutcome:
    run_id = run_id or new_run_id()
    if status in TERMINAL_RUN_STATUSES and finished_at is None:
        finished_at = timezone.now()
    if status == RunStatus.RUNNING and started_at is None:
        started_at = timezone.now()
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(organization=organization, run_id=run_id).first()
        if run is None:
            try:
                with transaction.atomic():
                    run = Run.objects.create(
                        organization=organization,
                        pipeline=pipeline,
                        pipeline_version=pipeline_version or pipeline.current_version,
                        run_id=run_id,
                        status=status,
                        started_at=started_at,
                        finished_at=finished_at,
                        attributes=attributes or {},
                    )
                return RunEventOutcome(run=run, created=True, changed=True)
            except IntegrityError:
                # A parallel delivery created it first: apply this event to that row instead.
                run = Run.objects.select_for_update().get(organization=organization, run_id=run_id)
        return RunEventOutcome(
            run=run,
            created=False,
            changed=_transition(run, pipeline, status, started_at, finished_at, pipeline_version, attributes),
        )


def _transition(run, pipeline, status, started_at, finished_at, pipeline_version, attributes) -> bool:
    if run.pipeline_id != pipeline.pk:
        raise Conflict(f"Run {run.run_id!r} belongs to another pipeline.")
    updates = {}
    if run.status in TERMINAL_RUN_STATUSES and status != run.status:
        late = status not in TERMINAL_RUN_STATUSES and (
            started_at is not None and run.finished_at is not None and started_at <= run.finished_at
        )
        if not late:
            raise Conflict(f"Run {run.run_id!r} is already {run.status}; it cannot become {status}.")
    elif _stage(status) >= _stage(run.status) and status != run.status:
        updates["status"] = status
    if started_at is not None and run.started_at is None:
        updates["started_at"] = started_at
    if finished_at is not None and run.finished_at is None and status in TERMINAL_RUN_STATUSES:
        updates["finished_at"] = finished_at
    if pipeline_version is not None and run.pipeline_version_id is None:
        updates["pipeline_version"] = pipeline_version
    if attributes:
        merged = {**run.attributes, **attributes}
        if merged != run.attributes:
            updates["attributes"] = merged
    if not updates:
        return False
    for field, value in updates.items():
        setattr(run, field, value)
    run.save(update_fields=[*updates, "updated_at"])
    return True
