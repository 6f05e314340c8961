"""Writes for the catalog. The run lifecycle lives here and nowhere else.

Run events (from the API's POST/PATCH and from OpenLineage ingestion) all go through
`apply_run_event`, which locks the run row so that parallel deliveries of the same event
serialize, and applies these rules:

- queued -> running -> success | failed | cancelled; any forward step may be skipped.
- The same status again is a no-op (timestamps missing on the run are filled in).
- An earlier stage after a later one (queued after running) is late: absorbed, status kept.
- A terminal run never changes status again. A non-terminal event for a terminal run is late
  when it carries no start time of its own or one not after the run's end: it is absorbed (its
  start time fills a missing started_at). Anything else that would move a terminal run is a
  conflict (409): a different terminal status, or a start after the run ended.
- Creating a run counts one `runs_per_month` for the plan, in the same transaction: a run the
  plan does not allow is not created (402), and a duplicate delivery never counts twice.

Pipeline registration lives in `catalog.registration`; connection writes are below.
"""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status as http_status
from rest_framework.exceptions import APIException

from catalog.connection_config import validate_config
from catalog.dsn import PASSWORD_MASK
from catalog.models import TERMINAL_RUN_STATUSES, Connection, Pipeline, PipelineVersion, Run, RunStatus
from catalog.registration import RegistrationOutcome, VersionConflict, register_pipeline
from catalog.secrets import encrypt_secret
from orgs.limits import consume_monthly, enforce_limit
from orgs.models import Organization

__all__ = [
    "Conflict",
    "RegistrationOutcome",
    "RunEventOutcome",
    "VersionConflict",
    "apply_run_event",
    "create_connection",
    "delete_connection",
    "register_pipeline",
    "update_connection",
]

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
    if status not in RunStatus.values:
        raise ValueError(f"Unknown run status {status!r}.")
    run_id = run_id or new_run_id()
    event = _Event(status=status, reported_start=started_at, started_at=started_at, finished_at=finished_at)
    if status in TERMINAL_RUN_STATUSES and finished_at is None:
        event.finished_at = timezone.now()
    if status == RunStatus.RUNNING and started_at is None:
        event.started_at = timezone.now()
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
                        started_at=event.started_at,
                        finished_at=event.finished_at,
                        attributes=attributes or {},
                    )
            except IntegrityError:
                # A parallel delivery created it first: apply this event to that row instead.
                run = Run.objects.select_for_update().get(organization=organization, run_id=run_id)
            else:
                consume_monthly(organization, "runs_per_month")
                return RunEventOutcome(run=run, created=True, changed=True)
        changed = _transition(run, pipeline, event, pipeline_version, attributes)
        return RunEventOutcome(run=run, created=False, changed=changed)


@dataclass
class _Event:
    status: str
    reported_start: object  # the start time the client sent, if any: what lateness is judged on
    started_at: object
    finished_at: object


def _is_late(run: Run, event: _Event) -> bool:
    if event.status in TERMINAL_RUN_STATUSES:
        return False
    if event.reported_start is None or run.finished_at is None:
        return True
    return event.reported_start <= run.finished_at


def _transition(run: Run, pipeline: Pipeline, event: _Event, pipeline_version, attributes) -> bool:
    if run.pipeline_id != pipeline.pk:
        raise Conflict(f"Run {run.run_id!r} belongs to pipeline {run.pipeline.name!r}, not {pipeline.name!r}.")
    updates = {}
    if run.status in TERMINAL_RUN_STATUSES:
        if event.status != run.status and not _is_late(run, event):
            raise Conflict(
                {
                    "detail": f"Run {run.run_id!r} is already {run.status}; it cannot become {event.status}.",
                    "code": "run_finished",
                    "status": run.status,
                }
            )
        started_at = event.reported_start
    else:
        if _stage(event.status) >= _stage(run.status) and event.status != run.status:
            updates["status"] = event.status
        started_at = event.started_at
    if started_at is not None and run.started_at is None:
        updates["started_at"] = started_at
    if event.finished_at is not None and run.finished_at is None and event.status in TERMINAL_RUN_STATUSES:
        updates["finished_at"] = event.finished_at
    # An explicit version corrects the default (the current one) until the run has finished.
    if (
        pipeline_version is not None
        and run.pipeline_version_id != pipeline_version.pk
        and (run.pipeline_version_id is None or run.status not in TERMINAL_RUN_STATUSES)
    ):
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


# --- Connections -------------------------------------------------------------------------


def _encrypted_password(clean_password: str | None, previous: str) -> str:
    if clean_password is None:
        return ""
    if clean_password == PASSWORD_MASK:
        # The client sent back the masked DSN it read: keep the stored password.
        if not previous:
            raise ValidationError({"config": ["dsn: the password is the display mask; send the real password."]})
        return previous
    return encrypt_secret(clean_password)


def create_connection(
    *, organization: Organization, connection_id: str, connection_type: str, config: dict
) -> Connection:
    with transaction.atomic():
        enforce_limit(organization, "connections")
        clean = validate_config(connection_type, config)
        return Connection.objects.create(
            organization=organization,
            connection_id=connection_id,
            type=connection_type,
            config=clean.config,
            encrypted_dsn_password=_encrypted_password(clean.dsn_password, ""),
        )


def update_connection(
    *, connection: Connection, connection_type: str | None = None, config: dict | None = None
) -> Connection:
    """Replaces the type and/or the whole config (a given config is not merged into the stored one)."""
    with transaction.atomic():
        clean = validate_config(connection_type or connection.type, connection.config if config is None else config)
        if config is not None:
            connection.encrypted_dsn_password = _encrypted_password(
                clean.dsn_password, connection.encrypted_dsn_password
            )
        connection.type = connection_type or connection.type
        connection.config = clean.config
        connection.save()
    return connection


def delete_connection(*, connection: Connection) -> None:
    connection.delete()
