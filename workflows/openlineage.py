"""Receiving one OpenLineage RunEvent: mask, validate, apply across the apps it touches.

`ingest` is the one entry point for the API view and the demo seeder, so that nothing is stored
unmasked. The event is applied in one transaction, each app writing its own rows: the stored
event (lineage; its unique key makes a redelivery a no-op), the plan's monthly event quota (orgs),
the job's pipeline and the run through the catalog's run state machine (catalog), the datasets
and edges (lineage), and the check results of its dataQualityAssertions facets (checks).
"""

from dataclasses import dataclass

from django.db import transaction

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import RunStatus
from checks import services as checks_services
from lineage import services as lineage_services
from lineage.api.serializers import OpenLineageRunEventSerializer
from lineage.models import OpenLineageEvent
from orgs import limits
from orgs.models import Organization

# OpenLineage eventType -> run status. OTHER carries no lifecycle information.
RUN_STATUS_BY_EVENT_TYPE = {
    "START": RunStatus.RUNNING,
    "RUNNING": RunStatus.RUNNING,
    "COMPLETE": RunStatus.SUCCESS,
    "FAIL": RunStatus.FAILED,
    "ABORT": RunStatus.CANCELLED,
}
TERMINAL_EVENT_TYPES = frozenset({"COMPLETE", "FAIL", "ABORT"})


@dataclass(frozen=True)
class IngestOutcome:
    duplicate: bool
    event: OpenLineageEvent
    run_status: str | None = None
    datasets: int = 0
    edges: int = 0
    check_results: int = 0


def ingest(*, organization: Organization, payload: dict) -> IngestOutcome:
    """Masks, validates (DRF ValidationError -> 400) and applies one received RunEvent body."""
    payload = lineage_services.redact_payload(payload)
    event = OpenLineageRunEventSerializer(data=payload)
    event.is_valid(raise_exception=True)
    return ingest_run_event(organization=organization, event=event.validated_data, payload=payload)


def ingest_run_event(*, organization: Organization, event: dict, payload: dict) -> IngestOutcome:
    """Applies one validated RunEvent (`event`) received as `payload`, already masked by `redact_payload`."""
    with transaction.atomic():
        stored = lineage_services.store_event(organization=organization, event=event, payload=payload)
        if stored.duplicate:
            return IngestOutcome(duplicate=True, event=stored.event)
        limits.consume_monthly(organization, "openlineage_events_per_month")
        pipeline = catalog_services.pipeline_for_job(organization, event["job"]["namespace"], event["job"]["name"])
        run = _apply_lifecycle(organization, pipeline, event)
        datasets_in = lineage_services.upsert_datasets(organization, _keys(event["inputs"]))
        datasets_out = lineage_services.upsert_datasets(organization, _keys(event["outputs"]))
        edges = lineage_services.record_edges(organization, pipeline, datasets_in, datasets_out)
        results = checks_services.record_assertions(organization, pipeline, run, event, datasets_in)
    return IngestOutcome(
        duplicate=False,
        event=stored.event,
        run_status=run.status if run else None,
        datasets=len(set(datasets_in) | set(datasets_out)),
        edges=edges,
        check_results=results,
    )


def _keys(declared: list[dict]) -> dict:
    """OpenLineage datasets as upsert_datasets keys, in order, without a location (events carry none we keep)."""
    return {(item["namespace"], item["name"]): {} for item in declared}


def _apply_lifecycle(organization, pipeline, event):
    event_type = event["eventType"]
    event_time = event["eventTime"]
    status = RUN_STATUS_BY_EVENT_TYPE.get(event_type)
    if status is None:
        # OTHER: no lifecycle step. The run is created (queued) if this is the first word of it,
        # so that its lineage and check results still hang off a run.
        status = RunStatus.QUEUED
    # The event time stands in for the start of non-terminal events: that is what lets the state
    # machine recognise a START that arrives after the COMPLETE as late, and absorb it.
    started_at = event_time if event_type in ("START", "RUNNING") else None
    finished_at = event_time if event_type in TERMINAL_EVENT_TYPES else None
    if status == RunStatus.QUEUED:
        existing = catalog_selectors.run_in_organization(organization, event["run"]["runId"])
        # A run of another job falls through: the state machine answers that conflict (409).
        if existing is not None and existing.pipeline_id == pipeline.pk:
            return existing
    outcome = catalog_services.apply_run_event(
        organization=organization,
        pipeline=pipeline,
        status=status,
        run_id=event["run"]["runId"],
        started_at=started_at,
        finished_at=finished_at,
        attributes={"source": "openlineage", "job_namespace": event["job"]["namespace"]},
    )
    return outcome.run
