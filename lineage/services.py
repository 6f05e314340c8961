"""Writes for lineage: datasets, edges and stored OpenLineage events.

Two producers describe lineage: pipeline registration (datasets declared by pipeline.json, in the
empty namespace, and the edges between them) and OpenLineage events (namespaced datasets). Both
go through the same `upsert_datasets`. Applying a whole OpenLineage event spans apps (the run is
the catalog's, assertion results are checks'): `workflows.openlineage` does that, calling these.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from config.logging import redact
from lineage.models import Dataset, LineageEdge, OpenLineageEvent
from orgs.models import Organization

DECLARED_NAMESPACE = ""  # datasets declared by pipeline.json; OpenLineage ones carry their namespace
DatasetKey = tuple[str, str]  # (namespace, dataset id)


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


@dataclass(frozen=True)
class StoredEvent:
    event: OpenLineageEvent
    duplicate: bool


def store_event(*, organization: Organization, event: dict, payload: dict) -> StoredEvent:
    """Stores a validated RunEvent once: its unique key (run, type, time) makes a redelivery a duplicate."""
    try:
        with transaction.atomic():
            stored = OpenLineageEvent.objects.create(
                organization=organization,
                run_id=event["run"]["runId"],
                event_type=event["eventType"],
                event_time=event["eventTime"],
                job_namespace=event["job"]["namespace"],
                job_name=event["job"]["name"],
                producer=event["producer"],
                payload=payload,
            )
    except IntegrityError:
        existing = OpenLineageEvent.objects.for_organization(organization).get(
            run_id=event["run"]["runId"],
            event_type=event["eventType"],
            event_time=event["eventTime"],
        )
        return StoredEvent(event=existing, duplicate=True)
    return StoredEvent(event=stored, duplicate=False)


def upsert_datasets(organization: Organization, locations: dict[DatasetKey, dict]) -> dict[DatasetKey, Dataset]:
    """(namespace, dataset id) -> Dataset, created when new; datasets are shared by whoever names them.

    `locations` maps each key to its physical location ({"connection_id", "table"}; empty values or
    an empty dict when unknown). A known value that differs from the stored one updates it; an empty
    one never erases. One query when every dataset exists unchanged; three when some are new.
    """
    keys = list(locations)
    if not keys:
        return {}
    found = _datasets_by_key(organization, keys)
    # Sorted, so that parallel writers sharing datasets insert and lock them in the same order
    # (one waits for the other instead of deadlocking).
    missing = []
    for namespace, dataset_id in sorted(key for key in keys if key not in found):
        location = _known(locations[(namespace, dataset_id)])
        missing.append(Dataset(organization=organization, namespace=namespace, dataset_id=dataset_id, **location))
    # A parallel writer may create the same dataset: ignore_conflicts keeps both transactions going,
    # and the re-read below picks up whichever row won.
    Dataset.objects.bulk_create(missing, ignore_conflicts=True)
    moved = []
    for key, dataset in found.items():
        location = _known(locations[key])
        if any(getattr(dataset, field) != value for field, value in location.items()):
            for field, value in location.items():
                setattr(dataset, field, value)
            moved.append(dataset)
    if moved:
        moved.sort(key=lambda dataset: dataset.pk)
        list(
            Dataset.objects.for_organization(organization)
            .select_for_update()
            .filter(pk__in=[d.pk for d in moved])
            .order_by("pk")
        )
        Dataset.objects.for_organization(organization).bulk_update(moved, ["connection_id", "table"])
    if missing:
        found = _datasets_by_key(organization, keys)
    return {key: found[key] for key in keys}


def _known(location: dict) -> dict:
    return {field: value for field, value in (location or {}).items() if field in ("connection_id", "table") and value}


def _datasets_by_key(organization, keys) -> dict[DatasetKey, Dataset]:
    namespaces = {namespace for namespace, _ in keys}
    names = {name for _, name in keys}
    rows = Dataset.objects.for_organization(organization).filter(namespace__in=namespaces, dataset_id__in=names)
    wanted = set(keys)
    return {(d.namespace, d.dataset_id): d for d in rows if (d.namespace, d.dataset_id) in wanted}


def replace_declared_edges(organization, pipeline, version, pairs: list[tuple[Dataset, Dataset]]) -> None:
    """A registration's edges replace the pipeline's previous ones between declared datasets, so edges
    always describe what the pipeline does now. Edges that OpenLineage events tied to this pipeline
    between namespaced datasets are kept."""
    LineageEdge.objects.for_organization(organization).filter(
        pipeline=pipeline, source__namespace=DECLARED_NAMESPACE, target__namespace=DECLARED_NAMESPACE
    ).delete()
    LineageEdge.objects.bulk_create(
        [
            LineageEdge(
                organization=organization, source=source, target=target, pipeline=pipeline, pipeline_version=version
            )
            for source, target in pairs
        ]
    )


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
