"""Writes for lineage: datasets, edges and OpenLineage ingestion.

An OpenLineage RunEvent is applied in one transaction: the stored event (its unique key makes a
redelivery a no-op), the plan's monthly event quota, the job's pipeline, the run through the
catalog's run state machine, the datasets and edges, and the check results of its
dataQualityAssertions facets.
"""

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from catalog.models import Pipeline, Run, RunStatus
from catalog.services import apply_run_event
from checks.models import CheckResult, CheckStatus, Severity
from config.logging import redact
from lineage.models import Dataset, LineageEdge, OpenLineageEvent
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


def redact_payload(payload):
    """The event with anything that looks like a secret masked (DataXPipe keys, bearer tokens, DSN
    passwords), in every string value. Producers should not send them, but a dataset namespace such
    as postgres://etl:password@db:5432 happens; the masking is deterministic, so the dataset keeps
    one identity across events."""
    if isinstance(payload, str):
        return redact(payload)
    if isinstance(payload, dict):
        # Keys too: producers key facets by connection strings or variable values now and then.
        return {redact(key): redact_payload(value) for key, value in payload.items()}
    if isinstance(payload, list):
        return [redact_payload(value) for value in payload]
    return payload


def ingest_run_event(*, organization: Organization, event: dict, payload: dict) -> IngestOutcome:
    """Applies one validated RunEvent (`event`) received as `payload`, already masked by `redact_payload`.

    Callers go through `lineage.api.ingest.ingest`, which masks and validates the body first.
    """
    run_id = event["run"]["runId"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = OpenLineageEvent.objects.create(
                    organization=organization,
                    run_id=run_id,
                    event_type=event["eventType"],
                    event_time=event["eventTime"],
                    job_namespace=event["job"]["namespace"],
                    job_name=event["job"]["name"],
                    producer=event["producer"],
                    payload=payload,
                )
        except IntegrityError:
            existing = OpenLineageEvent.objects.for_organization(organization).get(
                run_id=run_id,
                event_type=event["eventType"],
                event_time=event["eventTime"],
            )
            return IngestOutcome(duplicate=True, event=existing)

        limits.consume_monthly(organization, "openlineage_events_per_month")
        pipeline = pipeline_for_job(organization, event["job"]["namespace"], event["job"]["name"])
        run = _apply_lifecycle(organization, pipeline, event)
        datasets_in = upsert_datasets(organization, event["inputs"])
        datasets_out = upsert_datasets(organization, event["outputs"])
        edges = record_edges(organization, pipeline, datasets_in, datasets_out)
        results = record_assertions(organization, pipeline, run, event, datasets_in)
    return IngestOutcome(
        duplicate=False,
        event=stored,
        run_status=run.status if run else None,
        datasets=len(set(datasets_in) | set(datasets_out)),
        edges=edges,
        check_results=results,
    )


def pipeline_for_job(organization: Organization, job_namespace: str, job_name: str) -> Pipeline:
    """The registered pipeline of that name, else an external entry created for the job."""
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
        existing = Run.objects.for_organization(organization).filter(run_id=event["run"]["runId"]).first()
        # A run of another job falls through: the state machine answers that conflict (409).
        if existing is not None and existing.pipeline_id == pipeline.pk:
            return existing
    outcome = apply_run_event(
        organization=organization,
        pipeline=pipeline,
        status=status,
        run_id=event["run"]["runId"],
        started_at=started_at,
        finished_at=finished_at,
        attributes={"source": "openlineage", "job_namespace": event["job"]["namespace"]},
    )
    return outcome.run


def upsert_datasets(organization: Organization, declared: list[dict]) -> dict[tuple[str, str], Dataset]:
    """(namespace, name) -> Dataset for each OpenLineage dataset, created when new. Three queries at most."""
    keys = list(dict.fromkeys((item["namespace"], item["name"]) for item in declared))
    if not keys:
        return {}
    found = _datasets_by_key(organization, keys)
    missing = [key for key in keys if key not in found]
    if missing:
        Dataset.objects.bulk_create(
            [Dataset(organization=organization, namespace=ns, dataset_id=name) for ns, name in missing],
            ignore_conflicts=True,
        )
        found = _datasets_by_key(organization, keys)
    return {key: found[key] for key in keys}


def _datasets_by_key(organization, keys):
    names = {name for _, name in keys}
    rows = Dataset.objects.for_organization(organization).filter(dataset_id__in=names)
    wanted = set(keys)
    return {(d.namespace, d.dataset_id): d for d in rows if (d.namespace, d.dataset_id) in wanted}


def record_edges(organization, pipeline, inputs: dict, outputs: dict) -> int:
    """Each input -> each output, tied to the job's pipeline (and its current version). Idempotent."""
    edges = [
        LineageEdge(
            organization=organization,
            source=source,
            target=target,
            pipeline=pipeline,
            pipeline_version_id=pipeline.current_version_id,
        )
        for source in inputs.values()
        for target in outputs.values()
        if source.pk != target.pk
    ]
    LineageEdge.objects.bulk_create(edges, ignore_conflicts=True)
    return len(edges)


def assertion_result_id(run_id: str, namespace: str, name: str, label: str, column: str) -> str:
    """Deterministic, so a redelivered or repeated assertion updates one result instead of adding one."""
    material = "\x1f".join((run_id, namespace, name, label, column))
    return "ol-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def record_assertions(organization, pipeline, run, event, inputs: dict) -> int:
    """dataQualityAssertions input facets -> CheckResult rows on the run (pass/fail per assertion).

    The same assertion reported again for the run (START and COMPLETE both carrying it) keeps
    one result: the one from the latest event.
    """
    wanted: dict[str, CheckResult] = {}
    for item in event["inputs"]:
        dataset = inputs[(item["namespace"], item["name"])]
        for assertion in item.get("assertions", ()):
            column = assertion.get("column") or ""
            label = assertion.get("name") or (
                f"{assertion['assertion']}:{column}" if column else assertion["assertion"]
            )
            result_id = assertion_result_id(event["run"]["runId"], item["namespace"], item["name"], label, column)
            severity = (assertion.get("severity") or "").lower()
            wanted[result_id] = CheckResult(
                organization=organization,
                result_id=result_id,
                check_id=label,
                pipeline=pipeline,
                run=run,
                dataset=dataset,
                status=CheckStatus.PASS if assertion["success"] else CheckStatus.FAIL,
                violations=0 if assertion["success"] else 1,
                severity=severity if severity in Severity.values else Severity.ERROR,
                sql=assertion.get("content") or "",
                executed_at=event["eventTime"],
            )
    if not wanted:
        return 0
    existing = {
        result.result_id: result
        for result in CheckResult.objects.for_organization(organization).filter(result_id__in=list(wanted))
    }
    CheckResult.objects.bulk_create(
        [result for result_id, result in wanted.items() if result_id not in existing], ignore_conflicts=True
    )
    newer = []
    for result_id, current in existing.items():
        incoming = wanted[result_id]
        if incoming.executed_at > current.executed_at:
            current.status = incoming.status
            current.violations = incoming.violations
            current.executed_at = incoming.executed_at
            newer.append(current)
    if newer:
        CheckResult.objects.for_organization(organization).bulk_update(newer, ["status", "violations", "executed_at"])
    return len(wanted)
