"""Receiving OpenLineage events (RunEvent, JobEvent, DatasetEvent): mask, read, apply across the apps.

`ingest` is the one entry point for the API view and the demo seeder, so that nothing is stored
unmasked (the batch endpoint goes through `ingest_many`). An event is applied in one transaction,
each app writing its own rows: the stored event (lineage; its unique key makes a redelivery a
no-op), the plan's monthly event quota (orgs), the job's pipeline and the run through the catalog's
run state machine (catalog), the datasets and edges (lineage), and the check results of its
dataQualityAssertions facets (checks).

Static lineage (a JobEvent's inputs and outputs, a DatasetEvent's facets) updates datasets and
edges the same way, without a run.
"""

import logging
from dataclasses import dataclass

from django.db import DataError, transaction

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import RunStatus
from checks import services as checks_services
from lineage import event_facets, event_lineage
from lineage import services as lineage_services
from lineage.models import OpenLineageEvent
from lineage.openlineage_events import DATASET_EVENT, MAX_JOB_NAME, MAX_RUN_ID, RUN_EVENT, ParsedEvent, parse_event
from lineage.screening import plain_batch
from orgs import limits
from orgs.models import Organization
from workflows import batches

# OpenLineage eventType -> run status. OTHER carries no lifecycle information.
RUN_STATUS_BY_EVENT_TYPE = {
    "START": RunStatus.RUNNING,
    "RUNNING": RunStatus.RUNNING,
    "COMPLETE": RunStatus.SUCCESS,
    "FAIL": RunStatus.FAILED,
    "ABORT": RunStatus.CANCELLED,
}
TERMINAL_EVENT_TYPES = frozenset({"COMPLETE", "FAIL", "ABORT"})
logger = logging.getLogger(__name__)
EVENT_QUOTA = "openlineage_events_per_month"


@dataclass(frozen=True)
class IngestOutcome:
    duplicate: bool
    event: OpenLineageEvent
    run_status: str | None = None
    datasets: int = 0
    edges: int = 0
    check_results: int = 0


def ingest(*, organization: Organization, payload) -> IngestOutcome:
    """Masks, reads (InvalidInput -> 400 with field messages) and applies one received event body."""
    payload = lineage_services.redact_payload(payload)
    event = parse_event(payload)
    with transaction.atomic():
        return apply_event(organization=organization, event=event, payload=payload)


def apply_event(*, organization: Organization, event: ParsedEvent, payload: dict) -> IngestOutcome:
    """Applies one parsed event (`payload` already masked by `redact_payload`); call inside a transaction."""
    stored = lineage_services.store_event(organization=organization, event=event, payload=payload)
    if stored.duplicate:
        return IngestOutcome(duplicate=True, event=stored.event)
    limits.consume_monthly(organization, EVENT_QUOTA)
    if event.kind == DATASET_EVENT:
        refs, columns = event_facets.event_refs(event)
        recorded = event_lineage.record(organization, None, refs, columns)
        return IngestOutcome(duplicate=False, event=stored.event, datasets=len(recorded.datasets))
    pipeline, run = _pipeline_and_run(organization, event)
    refs, columns = event_facets.event_refs(event)
    recorded = event_lineage.record(organization, pipeline, refs, columns)
    results = 0
    if run is not None and any(item.assertions for item in event.inputs):
        results = checks_services.record_assertions(organization, pipeline, run, _assertions(event), recorded.datasets)
    return IngestOutcome(
        duplicate=False,
        event=stored.event,
        run_status=run.status if run else None,
        datasets=len({dataset.pk for dataset in recorded.datasets.values()}),
        edges=recorded.edges,
        check_results=results,
    )


def _assertions(event: ParsedEvent) -> dict:
    """The shape checks.services.record_assertions reads."""
    return {
        "run": {"runId": event.run_id},
        "eventTime": event.event_time,
        "inputs": [{"namespace": d.namespace, "name": d.name, "assertions": d.assertions} for d in event.inputs],
    }


def parent_of(event: ParsedEvent) -> tuple[str, str, str] | None:
    """(job namespace, job name, run id) of the `parent` run facet: Airflow's DAG run for a task, dbt's
    invocation for a model. None when absent, malformed, or naming the event's own run."""
    facet = event.run_facets.get("parent")
    if not isinstance(facet, dict):
        return None
    job, run = facet.get("job"), facet.get("run")
    if not isinstance(job, dict) or not isinstance(run, dict):
        return None
    namespace, name, run_id = job.get("namespace"), job.get("name"), run.get("runId")
    if not (isinstance(name, str) and name and isinstance(run_id, str) and run_id) or run_id == event.run_id:
        return None
    if len(name) > MAX_JOB_NAME or len(run_id) > MAX_RUN_ID:
        return None
    return (namespace if isinstance(namespace, str) else event.job_namespace), name, run_id


def _task_of_parent(organization, event: ParsedEvent, parent):
    """A task's event: the run belongs to the parent job's pipeline (the DAG) and hangs under the parent
    run, created (queued) if the DAG's own events have not arrived yet. The task is the run's detail."""
    namespace, name, parent_run_id = parent
    pipeline = catalog_services.pipeline_for_job(organization, namespace, name)
    parent_run = catalog_services.apply_run_event(
        organization=organization,
        pipeline=pipeline,
        status=RunStatus.QUEUED,
        run_id=parent_run_id,
        attributes={"source": "openlineage", "job_namespace": namespace},
        counts_as_run=False,
    ).run
    attributes = _run_attributes(event) | {"task": event.job_name, "parent_run_id": parent_run_id}
    error = event.run_facets.get("errorMessage")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        attributes["error"] = error["message"][:2000]
    run = _apply_lifecycle(organization, pipeline, event, attributes=attributes, parent=parent_run)
    return pipeline, run


def _pipeline_and_run(organization, event: ParsedEvent):
    """The job's pipeline and (for a RunEvent) the run the event moves: one statement in the usual cases."""
    parent = parent_of(event) if event.kind == RUN_EVENT else None
    if parent is not None:
        return _task_of_parent(organization, event, parent)
    if event.kind == RUN_EVENT and event.event_type in RUN_STATUS_BY_EVENT_TYPE:
        found = catalog_services.run_event_for_job(
            organization=organization,
            job_name=event.job_name,
            status=RUN_STATUS_BY_EVENT_TYPE[event.event_type],
            run_id=event.run_id,
            event_time=event.event_time,
            attributes=_run_attributes(event),
        )
        if found is not None:
            return found
    pipeline = catalog_services.pipeline_for_job(organization, event.job_namespace, event.job_name)
    run = _apply_lifecycle(organization, pipeline, event) if event.kind == RUN_EVENT else None
    return pipeline, run


def _run_attributes(event: ParsedEvent) -> dict:
    return {"source": "openlineage", "job_namespace": event.job_namespace}


def _apply_lifecycle(organization, pipeline, event: ParsedEvent, attributes=None, parent=None):
    event_type = event.event_type
    status = RUN_STATUS_BY_EVENT_TYPE.get(event_type)
    if status is None:
        # OTHER: no lifecycle step. The run is created (queued) if this is the first word of it,
        # so that its lineage and check results still hang off a run.
        status = RunStatus.QUEUED
    # The event time stands in for the start of non-terminal events: that is what lets the state
    # machine recognise a START that arrives after the COMPLETE as late, and absorb it.
    started_at = event.event_time if event_type in ("START", "RUNNING") else None
    finished_at = event.event_time if event_type in TERMINAL_EVENT_TYPES else None
    if status == RunStatus.QUEUED:
        existing = catalog_selectors.run_in_organization(organization, event.run_id)
        # A run of another job falls through: the state machine answers that conflict (409). Held: the event's
        # check results attach to it, and retention must not purge it before they commit; purged already, the
        # state machine creates it anew.
        if existing is not None and existing.pipeline_id == pipeline.pk and catalog_services.hold_run(existing):
            return existing
    outcome = catalog_services.apply_run_event(
        organization=organization,
        pipeline=pipeline,
        status=status,
        run_id=event.run_id,
        started_at=started_at,
        finished_at=finished_at,
        attributes=attributes or _run_attributes(event),
        counts_as_run=False,
        parent=parent,
    )
    return outcome.run


def ingest_batch(*, organization: Organization, payloads, text: str | None = None) -> list:
    """Up to 1,000 events, each accepted, a duplicate, or refused with its reason (workflows.batches).

    The usual batch (new runs' lifecycle events, static events, replays) is applied set-based, a few
    statements for the whole batch (workflows.openlineage_batch); anything else (an OTHER event, a run
    that moves back or finished earlier, the plan's quota running out mid-batch, another database)
    is applied event by event, each in its own savepoint, with the same outcome. `text`: the events as the
    JSON array text they were sent as, when known; when that whole text shows nothing to mask and nothing
    the database cannot store (lineage.screening), no event is checked for either on its own."""
    # Imported here: the set-based path reuses this module's lifecycle table and helpers.
    from workflows import openlineage_batch

    events = batches.check_batch(payloads)
    with transaction.atomic():
        plain = text is not None and plain_batch(text)
        try:
            with transaction.atomic():
                items = openlineage_batch.ingest_set_based(organization, events, plain_text=text if plain else None)
        except DataError:
            if not plain:
                raise
            # PostgreSQL refused a text the screen let through: the per-event checks decide instead.
            logger.warning("organization %s: the database refused a screened OpenLineage batch", organization.pk)
            plain = False
            items = openlineage_batch.ingest_set_based(organization, events)
        if items is not None:
            return items

        def ingest_one(payload):
            if plain:
                event = parse_event(payload, storable=True)
            else:
                payload = lineage_services.redact_payload(payload)
                event = parse_event(payload)
            outcome = apply_event(organization=organization, event=event, payload=payload)
            return (batches.DUPLICATE if outcome.duplicate else batches.ACCEPTED), describe(outcome)

        return batches.apply_each(events, ingest_one)


def describe(outcome: IngestOutcome) -> dict:
    """The answer for one event (POST /lineage's body without its status)."""
    body = {
        "kind": outcome.event.kind,
        "run_id": outcome.event.run_id or None,
        "event_type": outcome.event.event_type or None,
        "pipeline": outcome.event.job_name or None,
    }
    if not outcome.duplicate:
        body |= {
            "run_status": outcome.run_status,
            "datasets": outcome.datasets,
            "edges": outcome.edges,
            "check_results": outcome.check_results,
        }
    return body
