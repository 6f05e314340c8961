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
  plan does not allow is not created (402), and a duplicate delivery never counts twice. A run
  created by an OpenLineage event is metered as that event (`openlineage_events_per_month`) instead.

Pipeline registration spans apps (catalog, lineage, checks): `workflows.registration` runs it and
calls `record_pipeline_version` here for the catalog's part. Pipelines first seen through OpenLineage
come from `pipeline_for_job`; connection writes are below.
"""

import json
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from catalog.connection_config import validate_config
from catalog.dsn import PASSWORD_MASK
from catalog.lateness import ON_TIME
from catalog.models import TERMINAL_RUN_STATUSES, Connection, Pipeline, PipelineVersion, Run, RunStatus
from catalog.secrets import encrypt_secret
from catalog.selectors import counted_connections, counted_pipelines, one_or_none
from config.db_cursors import server_bound_cursor
from config.db_inserts import insert_unless_conflict
from orgs.errors import Conflict
from orgs.limits import consume_monthly, enforce_limit
from orgs.models import Organization

__all__ = [
    "Conflict",
    "RunEventOutcome",
    "VersionConflict",
    "VersionOutcome",
    "apply_run_event",
    "create_connection",
    "delete_connection",
    "hold_run",
    "pipeline_for_job",
    "record_pipeline_version",
    "run_event_for_job",
    "set_paused",
    "update_connection",
]

_STAGE = {RunStatus.QUEUED: 0, RunStatus.RUNNING: 1}


class VersionConflict(Conflict):
    code = "version_conflict"


@dataclass(frozen=True)
class VersionOutcome:
    pipeline: Pipeline
    version: PipelineVersion
    created: bool


def record_pipeline_version(
    *,
    organization: Organization,
    name: str,
    version: str,
    spec: dict,
    spec_hash: str,
    owner: str = "",
    description: str = "",
    schedule: str = "",
    schedule_timezone: str = "UTC",
    paused: bool | None = None,
    late_grace_minutes: int | None = None,
    tags: list | None = None,
) -> VersionOutcome:
    """The catalog's part of a registration; call it inside the registration's transaction.

    Same name and version with the same hash: the stored version, nothing written. Same name and
    version with another hash: `VersionConflict`. Otherwise a new version, made the pipeline's
    current one (the pipeline is created, or an OpenLineage-only pipeline becomes registered and
    starts counting towards the plan). The pipeline row is locked, so parallel registrations of one
    name take turns; a parallel creation of the name is an IntegrityError for the caller to retry.

    `paused` and `late_grace_minutes` None: the pipeline keeps its own (catalog.lateness). A new schedule or
    time zone, or an unpause, makes only the slots from now on expected.
    """
    pipeline = Pipeline.objects.for_organization(organization).select_for_update().filter(name=name).first()
    if pipeline is not None:
        existing = pipeline.versions.filter(version=version).first()
        if existing is not None:
            if existing.spec_hash != spec_hash:
                raise VersionConflict(
                    f"Pipeline {name!r} version {version!r} is already registered with "
                    "different content. Registered versions never change: bump the version.",
                    registered_spec_hash=existing.spec_hash,
                    posted_spec_hash=spec_hash,
                )
            return VersionOutcome(pipeline=pipeline, version=existing, created=False)
        if pipeline.is_external:
            # A pipeline first seen through OpenLineage is now registered: it starts counting.
            enforce_limit(organization, "pipelines", counted_pipelines(organization))
            pipeline.is_external = False
    else:
        enforce_limit(organization, "pipelines", counted_pipelines(organization))
        pipeline = Pipeline.objects.create(organization=organization, name=name)

    stored = PipelineVersion.objects.create(
        organization=organization, pipeline=pipeline, version=version, spec=spec, spec_hash=spec_hash
    )
    now = timezone.now()
    if pipeline.expected_since is None or (pipeline.schedule, pipeline.schedule_timezone) != (
        schedule,
        schedule_timezone,
    ):
        pipeline.expected_since = now
    pipeline.current_version = stored
    pipeline.owner = owner
    pipeline.description = description
    pipeline.schedule = schedule
    pipeline.schedule_timezone = schedule_timezone
    pipeline.tags = tags or []
    if late_grace_minutes is not None:
        pipeline.late_grace_minutes = late_grace_minutes
    if paused is not None:
        _pause_in_memory(pipeline, paused, now)
    pipeline.save()
    return VersionOutcome(pipeline=pipeline, version=stored, created=True)


# --- Pausing: a paused pipeline expects no run (catalog.lateness).


def _pause_in_memory(pipeline: Pipeline, paused: bool, now) -> None:
    if paused == pipeline.paused:
        return
    pipeline.paused = paused
    if paused:
        for name, value in ON_TIME.items():
            setattr(pipeline, name, value)
    else:
        pipeline.expected_since = now  # the slots missed while paused were not expected


def set_paused(pipelines, paused: bool) -> int:
    """Pause or unpause the pipelines of `pipelines` (a queryset whose organization scope is decided);
    pausing clears their lateness at once, unpausing expects only the slots from now on. The number
    changed."""
    changing = pipelines.filter(paused=not paused)
    if paused:
        return changing.update(paused=True, **ON_TIME)
    return changing.update(paused=False, expected_since=timezone.now())


def pipeline_for_job(organization: Organization, job_namespace: str, job_name: str) -> Pipeline:
    """The pipeline an OpenLineage job reports for: the one of that name, else an external entry created
    for the job (external pipelines do not count towards the plan until they are registered)."""
    pipeline = Pipeline.objects.for_organization(organization).filter(name=job_name).first()
    if pipeline is not None:
        return pipeline
    try:
        with transaction.atomic():
            return Pipeline.objects.create(
                organization=organization,
                name=job_name,
                is_external=True,
                description=f"Reported by OpenLineage (job namespace {job_namespace!r}).",
            )
    except IntegrityError:
        return Pipeline.objects.for_organization(organization).get(name=job_name)


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
    counts_as_run: bool = True,
    parent: Run | None = None,
) -> RunEventOutcome:
    """`counts_as_run=False`: the caller meters the event under another quota (an OpenLineage event is
    one `openlineage_events_per_month`, not also a run)."""
    if status not in RunStatus.values:
        raise ValueError(f"Unknown run status {status!r}.")
    run_id = run_id or new_run_id()
    event = _Event(status=status, reported_start=started_at, started_at=started_at, finished_at=finished_at)
    if status in TERMINAL_RUN_STATUSES and finished_at is None:
        event.finished_at = timezone.now()
    if status == RunStatus.RUNNING and started_at is None:
        event.started_at = timezone.now()
    with transaction.atomic():
        run = None
        if status in TERMINAL_RUN_STATUSES:
            if pipeline_version is None:
                finished = _finish_in_one_statement(organization, pipeline, run_id, event, attributes)
                if finished is not None:
                    return RunEventOutcome(run=finished, created=False, changed=True)
            # A finish is usually for a run that exists: look it up (and lock it) first.
            run = _locked_run(organization, run_id)
        # A loop: retention may purge the run between the insert's conflict and the lookup; it is new again then.
        while run is None:
            candidate = Run(
                organization=organization,
                pipeline=pipeline,
                pipeline_version=pipeline_version or pipeline.current_version,
                run_id=run_id,
                status=status,
                started_at=event.started_at,
                finished_at=event.finished_at,
                attributes=attributes or {},
                parent=parent,
            )
            if insert_unless_conflict(candidate, conflict_columns=("organization_id", "run_id")):
                if counts_as_run:
                    consume_monthly(organization, "runs_per_month")
                return RunEventOutcome(run=candidate, created=True, changed=True)
            # It exists (perhaps created a moment ago by a parallel delivery): apply the event to it.
            run = _locked_run(organization, run_id)
        _reuse_loaded_relations(run, pipeline, pipeline_version)
        changed = _transition(run, pipeline, event, pipeline_version, attributes)
        if parent is not None and run.parent_id is None and parent.pk != run.pk:
            run.parent = parent
            run.save(update_fields=["parent", "updated_at"])
            changed = True
        return RunEventOutcome(run=run, created=False, changed=changed)


_FINISH_SQL = """
UPDATE catalog_run SET status = %s, started_at = COALESCE(started_at, %s), finished_at = COALESCE(finished_at, %s),
    attributes = attributes || %s::jsonb, updated_at = %s
WHERE organization_id = %s AND run_id = %s AND pipeline_id = %s AND status IN ('queued', 'running')
RETURNING id, organization_id, pipeline_id, pipeline_version_id, run_id, parent_id, status, started_at, finished_at,
    attributes, created_at, updated_at
"""


def _finish_in_one_statement(organization, pipeline, run_id, event, attributes) -> Run | None:
    """The usual finish (a terminal event for a queued or running run of this pipeline), on PostgreSQL, as
    one conditional UPDATE: the same outcome as `_transition` (status, missing times filled in, attributes
    merged), without the locking read before it. None when the run is not in that state (or elsewhere
    than PostgreSQL): the state machine decides."""
    if connections[router.db_for_write(Run)].vendor != "postgresql":
        return None
    params = [
        event.status,
        event.started_at,
        event.finished_at,
        json.dumps(attributes or {}),
        timezone.now(),
        organization.pk,
        run_id,
        pipeline.pk,
    ]
    # unscoped: raw SQL ignores queryset filters; the statement itself is WHERE organization_id = %s.
    finished = list(Run.objects.unscoped().raw(_FINISH_SQL, params))
    if not finished:
        return None
    run = finished[0]
    _reuse_loaded_relations(run, pipeline, None)
    return run


_START_FOR_JOB_SQL = """
INSERT INTO catalog_run (organization_id, pipeline_id, pipeline_version_id, run_id, status, started_at, finished_at,
    attributes, created_at, updated_at, parent_id)
SELECT p.organization_id, p.id, p.current_version_id, %s, %s, %s, NULL, %s::jsonb, %s, %s, NULL
FROM catalog_pipeline p WHERE p.organization_id = %s AND p.name = %s
ON CONFLICT (organization_id, run_id) DO NOTHING
RETURNING id, organization_id, pipeline_id, pipeline_version_id, run_id, parent_id, status, started_at, finished_at,
    attributes, created_at, updated_at
"""
_FINISH_FOR_JOB_SQL = """
UPDATE catalog_run r SET status = %s, finished_at = COALESCE(r.finished_at, %s), attributes = r.attributes || %s::jsonb,
    updated_at = %s
FROM catalog_pipeline p
WHERE p.id = r.pipeline_id AND p.organization_id = %s AND p.name = %s
  AND r.organization_id = %s AND r.run_id = %s AND r.status IN ('queued', 'running')
RETURNING r.id, r.organization_id, r.pipeline_id, r.pipeline_version_id, r.run_id, r.parent_id, r.status, r.started_at,
    r.finished_at, r.attributes, r.created_at, r.updated_at, p.current_version_id
"""


def run_event_for_job(
    *, organization: Organization, job_name: str, status: str, run_id: str, event_time, attributes: dict
) -> tuple[Pipeline, Run] | None:
    """The two usual OpenLineage lifecycle steps, each ONE statement on PostgreSQL that finds the job's
    pipeline too: the START of a new run of a known pipeline (an insert that selects the pipeline), and
    the finish of its running run (an update joined to the pipeline). The run is metered as the
    OpenLineage event, not as a run. None for anything else (a new pipeline, a run that exists already,
    a finished run, another database): the caller takes the general path (`pipeline_for_job`,
    `apply_run_event`), whose outcome these statements match."""
    if connections[router.db_for_write(Run)].vendor != "postgresql":
        return None
    now = timezone.now()
    if status == RunStatus.RUNNING:
        params = [run_id, status, event_time, json.dumps(attributes), now, now, organization.pk, job_name]
        # unscoped: raw SQL; the statement filters by organization_id itself.
        rows = list(Run.objects.unscoped().raw(_START_FOR_JOB_SQL, params))
        version_id = rows[0].pipeline_version_id if rows else None
    elif status in TERMINAL_RUN_STATUSES:
        params = [status, event_time, json.dumps(attributes), now, organization.pk, job_name, organization.pk, run_id]
        # unscoped: raw SQL; the statement filters by organization_id itself.
        rows = list(Run.objects.unscoped().raw(_FINISH_FOR_JOB_SQL, params))
        version_id = rows[0].current_version_id if rows else None
    else:
        return None
    if not rows:
        return None
    run = rows[0]
    # What callers use of the pipeline (its key, name and current version), without reading it again.
    pipeline = Pipeline(pk=run.pipeline_id, organization=organization, name=job_name, current_version_id=version_id)
    pipeline._state.adding = False
    run.pipeline = pipeline
    return pipeline, run


_HOLD_RUN_SQL = "SELECT 1 FROM catalog_run WHERE organization_id = %s AND id = %s FOR KEY SHARE"


def hold_run(run: Run) -> bool:
    """Keeps the run from being deleted until the caller's transaction ends; False when it is gone already.

    For a row about to point at a run it looked up earlier (a check result): retention may purge the run in
    between, and the row's foreign key would fail at commit. FOR KEY SHARE, the lock the foreign-key check
    itself takes, makes the purge's `FOR UPDATE SKIP LOCKED` pass the run by, and blocks neither readers nor
    updates of the run's status. Call inside a transaction."""
    database = connections[router.db_for_write(Run)]
    if database.vendor != "postgresql":
        return Run.objects.for_organization(run.organization_id).filter(pk=run.pk).exists()
    with database.cursor() as cursor:
        cursor.execute(_HOLD_RUN_SQL, [run.organization_id, run.pk])
        return cursor.fetchone() is not None


def _locked_run(organization: Organization, run_id: str) -> Run | None:
    return one_or_none(Run.objects.for_organization(organization).select_for_update().filter(run_id=run_id))


def _reuse_loaded_relations(run: Run, pipeline: Pipeline, pipeline_version: PipelineVersion | None) -> None:
    """The run's pipeline and version are almost always the ones the caller already loaded: reuse them,
    so that rendering the run does not fetch them again (two queries, one of them the version's spec)."""
    if run.pipeline_id == pipeline.pk:
        run.pipeline = pipeline
    for version in (pipeline_version, pipeline.current_version if pipeline.current_version_id else None):
        if version is not None and run.pipeline_version_id == version.pk:
            run.pipeline_version = version
            return


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
                f"Run {run.run_id!r} is already {run.status}; it cannot become {event.status}.",
                code="run_finished",
                status=run.status,
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


# Keys a stored DSN password survives a change of: they do not choose where or as whom it is sent.
_KEYS_THAT_KEEP_THE_PASSWORD = frozenset({"statement_timeout_seconds"})


def _target(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in _KEYS_THAT_KEEP_THE_PASSWORD}


def _encrypted_password(clean_password: str | None, previous: str, *, same_target: bool = False) -> str:
    """The encrypted password to store. A masked DSN sent back keeps the stored password only when the
    config still points where it did (same DSN: host, port, user, database, query options; same other keys):
    a password given for one server is never sent to another one on the say-so of a later edit."""
    if clean_password is None:
        return ""
    if clean_password == PASSWORD_MASK:
        # The client sent back the masked DSN it read: keep the stored password.
        if not previous:
            raise ValidationError({"config": ["dsn: the password is the display mask; send the real password."]})
        if not same_target:
            raise ValidationError(
                {
                    "config": [
                        "dsn: the stored password stays with the server and login it was given for; this change "
                        "alters the DSN (host, port, user, database or options) or the keys beside it, so send "
                        "the password again in the DSN (or drop it)."
                    ]
                }
            )
        return previous
    return encrypt_secret(clean_password)


def create_connection(
    *, organization: Organization, connection_id: str, connection_type: str, config: dict
) -> Connection:
    try:
        with transaction.atomic():
            enforce_limit(organization, "connections", counted_connections(organization))
            clean = validate_config(connection_type, config, organization=organization)
            return Connection.objects.create(
                organization=organization,
                connection_id=connection_id,
                type=connection_type,
                config=clean.config,
                encrypted_dsn_password=_encrypted_password(clean.dsn_password, ""),
            )
    except IntegrityError:
        # The one unique key is (organization, connection_id): a parallel request created this id first.
        raise Conflict(f"A connection {connection_id!r} already exists; PUT or PATCH it.") from None


def update_connection(
    *, connection: Connection, connection_type: str | None = None, config: dict | None = None
) -> Connection:
    """Replaces the type and/or the whole config (a given config is not merged into the stored one)."""
    with transaction.atomic():
        clean = validate_config(
            connection_type or connection.type,
            connection.config if config is None else config,
            organization=connection.organization,
        )
        if config is not None:
            same_target = connection_type in (None, connection.type) and _target(clean.config) == _target(
                connection.config
            )
            connection.encrypted_dsn_password = _encrypted_password(
                clean.dsn_password, connection.encrypted_dsn_password, same_target=same_target
            )
        connection.type = connection_type or connection.type
        connection.config = clean.config
        connection.save()
    return connection


def delete_connection(*, connection: Connection) -> None:
    connection.delete()


# --- Many OpenLineage runs at once (the batch endpoint's set-based path) ---------------------


def pipelines_for_jobs(organization: Organization, jobs: dict[str, str]) -> dict[str, Pipeline]:
    """`pipeline_for_job` for many jobs (name -> namespace): one read, plus one insert when some are new."""
    found = {p.name: p for p in Pipeline.objects.for_organization(organization).filter(name__in=list(jobs))}
    missing = [
        Pipeline(
            organization=organization,
            name=name,
            is_external=True,
            description=f"Reported by OpenLineage (job namespace {jobs[name]!r}).",
        )
        for name in sorted(set(jobs) - set(found))
    ]
    if missing:
        Pipeline.objects.bulk_create(missing, ignore_conflicts=True)
        found = {p.name: p for p in Pipeline.objects.for_organization(organization).filter(name__in=list(jobs))}
    return found


@dataclass(frozen=True)
class RunPlan:
    """Where a run ends after a sequence of lifecycle events that never leave a terminal state."""

    run_id: str
    pipeline: Pipeline
    status: str
    started_at: object
    finished_at: object
    attributes: dict


def apply_simple_runs(organization: Organization, plans: list[RunPlan]) -> dict[str, Run] | None:
    """Applies many runs' planned outcomes in a few statements, or answers None (having written nothing)
    when one of them is not simple: a run that exists finished or under another pipeline, or that a
    parallel request created meanwhile. The caller then applies the events one by one through
    `apply_run_event`, the state machine, whose outcome this matches for the simple cases. Runs are
    metered as OpenLineage events by the caller, not as runs."""
    if not plans:
        return {}
    by_id = {plan.run_id: plan for plan in plans}
    existing = {
        run.run_id: run
        for run in Run.objects.for_organization(organization)
        .select_for_update()
        .filter(run_id__in=sorted(by_id))
        .order_by("run_id")
    }
    for run_id, run in existing.items():
        if run.status in TERMINAL_RUN_STATUSES or run.pipeline_id != by_id[run_id].pipeline.pk:
            return None
    now = timezone.now()
    new = [
        Run(
            organization_id=organization.pk,
            pipeline_id=plan.pipeline.pk,
            pipeline_version_id=plan.pipeline.current_version_id,
            run_id=plan.run_id,
            status=plan.status,
            started_at=plan.started_at,
            finished_at=plan.finished_at,
            attributes=plan.attributes,
            created_at=now,
        )
        for plan in plans
        if plan.run_id not in existing
    ]
    if new and not _insert_new_runs(organization, new, now):
        return None
    changed = []
    for run_id, run in existing.items():
        plan = by_id[run_id]
        if _stage(plan.status) >= _stage(run.status):
            run.status = plan.status
        run.started_at = run.started_at or plan.started_at
        run.finished_at = run.finished_at or plan.finished_at
        run.attributes = {**run.attributes, **plan.attributes}
        run.updated_at = now
        changed.append(run)
    if changed:
        Run.objects.for_organization(organization).bulk_update(
            changed, ["status", "started_at", "finished_at", "attributes", "updated_at"]
        )
    runs = {run.run_id: run for run in new} | existing
    return runs


_INSERT_RUNS_SQL = """
INSERT INTO catalog_run (organization_id, pipeline_id, pipeline_version_id, run_id, status, started_at,
                         finished_at, attributes, created_at, updated_at)
SELECT %(org)s, r.pipeline, r.version, r.run_id, r.status, r.started_at, r.finished_at, r.attributes::jsonb,
       %(now)s, %(now)s
FROM unnest(%(pipelines)b::bigint[], %(versions)b::bigint[], %(run_ids)b::text[], %(statuses)b::text[],
            %(started)b::timestamptz[], %(finished)b::timestamptz[], %(attributes)b::text[])
     AS r(pipeline, version, run_id, status, started_at, finished_at, attributes)
ORDER BY r.run_id
ON CONFLICT DO NOTHING
RETURNING run_id, id
"""


def _insert_new_runs(organization: Organization, runs: list[Run], now) -> bool:
    """The new runs in one statement (PostgreSQL), their keys set; False (the caller backs out) when a
    parallel request created one of them meanwhile. Sorted by run id, so that two batches sharing runs
    lock them in the same order."""
    if connections[router.db_for_write(Run)].vendor != "postgresql":
        Run.objects.bulk_create(runs, ignore_conflicts=True)
        # Ours are the rows with this call's creation time; a run a parallel request created is not.
        inserted = dict(
            Run.objects.for_organization(organization)
            .filter(run_id__in=[r.run_id for r in runs], created_at=now)
            .values_list("run_id", "id")
        )
    else:
        with server_bound_cursor() as cursor:
            cursor.execute(
                _INSERT_RUNS_SQL,
                {
                    "org": organization.pk,
                    "now": now,
                    "pipelines": [run.pipeline_id for run in runs],
                    "versions": [run.pipeline_version_id for run in runs],
                    "run_ids": [run.run_id for run in runs],
                    "statuses": [run.status for run in runs],
                    "started": [run.started_at for run in runs],
                    "finished": [run.finished_at for run in runs],
                    "attributes": [json.dumps(run.attributes) for run in runs],
                },
            )
            inserted = dict(cursor.fetchall())
    if len(inserted) != len(runs):
        return False
    for run in runs:
        run.pk = inserted[run.run_id]
        run._state.adding = False
    return True
