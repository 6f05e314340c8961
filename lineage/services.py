"""Writes for lineage: datasets, edges and stored OpenLineage events.

Two producers describe lineage: pipeline registration (datasets declared by pipeline.json, in the
empty namespace, and the edges between them) and OpenLineage events (namespaced datasets). Both
go through the same `upsert_datasets`. Applying a whole OpenLineage event spans apps (the run is
the catalog's, assertion results are checks'): `workflows.openlineage` does that, calling these.
"""

import hashlib
from dataclasses import dataclass

from django.db import connection

from config.logging import redact
from lineage import naming
from lineage.models import Dataset, EventKind, LineageEdge, OpenLineageEvent
from lineage.openlineage_events import DATASET_EVENT, JOB_EVENT, RUN_EVENT, ParsedEvent
from lineage.selectors import datasets_by_key
from lineage.sql import insert_unless_conflict
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


def subject_digest(kind: str, namespace: str, name: str) -> str:
    """What a static event is about (its job or dataset), as the digest its uniqueness is keyed on."""
    return hashlib.sha256(f"{kind}\x00{namespace}\x00{name}".encode()).hexdigest()


def store_event(*, organization: Organization, event: ParsedEvent, payload: dict) -> StoredEvent:
    """Stores a parsed event once. A RunEvent's key is (run, type, time); a static event's its subject and
    time: a redelivery is a duplicate, answered with the stored row. One statement when new."""
    if event.kind == RUN_EVENT:
        key = {"kind": EventKind.RUN, "run_id": event.run_id, "event_type": event.event_type}
    elif event.kind == JOB_EVENT:
        key = {"kind": EventKind.JOB, "subject_digest": subject_digest(JOB_EVENT, event.job_namespace, event.job_name)}
    else:
        dataset = event.dataset
        key = {
            "kind": EventKind.DATASET,
            "subject_digest": subject_digest(DATASET_EVENT, dataset.namespace, dataset.name),
        }
    stored = OpenLineageEvent(
        organization=organization,
        event_time=event.event_time,
        job_namespace=event.job_namespace,
        job_name=event.job_name,
        producer=event.producer,
        payload=payload,
        **key,
    )
    if insert_unless_conflict(stored):
        return StoredEvent(event=stored, duplicate=False)
    existing = OpenLineageEvent.objects.for_organization(organization).get(event_time=event.event_time, **key)
    return StoredEvent(event=existing, duplicate=True)


def upsert_datasets(organization: Organization, locations: dict[DatasetKey, dict]) -> dict[DatasetKey, Dataset]:
    """(namespace, dataset id) -> Dataset, created when new; datasets are shared by whoever names them.

    `locations` maps each key to its physical location ({"connection_id", "table", "physical_name"};
    empty values or an empty dict when unknown). A known value that differs from the stored one
    updates it; an empty one never erases. A key not stored yet whose physical name a stored dataset
    has (an OpenLineage dataset of the same table, reported first) is that dataset: it takes the
    key, so the table stays one node (docs/lineage.md, "One node per physical dataset").
    """
    keys = list(locations)
    if not keys:
        return {}
    found = datasets_by_key(organization, keys)
    found.update(_adopt_by_physical_name(organization, {k: v for k, v in locations.items() if k not in found}))
    # Sorted, so that parallel writers sharing datasets insert and lock them in the same order
    # (one waits for the other instead of deadlocking).
    missing, digests = [], set()
    for namespace, dataset_id in sorted(key for key in keys if key not in found):
        location = _known(locations[(namespace, dataset_id)])
        if location.get("physical_digest") in digests:  # two ids for one table in one spec: the first has it
            location = {k: v for k, v in location.items() if k not in ("physical_name", "physical_digest")}
        digests.add(location.get("physical_digest"))
        missing.append(Dataset(organization=organization, namespace=namespace, dataset_id=dataset_id, **location))
    # A parallel writer may create the same dataset: ignore_conflicts keeps both transactions going,
    # and the re-read below picks up whichever row won.
    Dataset.objects.bulk_create(missing, ignore_conflicts=True)
    moved = []
    for key, dataset in found.items():
        location = _known(locations[key])
        if dataset.physical_digest or not location.get("physical_digest"):
            location.pop("physical_name", None)
            location.pop("physical_digest", None)
        elif _digest_taken(organization, location["physical_digest"]):
            # Another node has this table already (an ambiguous case, see docs/lineage.md): kept apart.
            location.pop("physical_name")
            location.pop("physical_digest")
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
        Dataset.objects.for_organization(organization).bulk_update(
            moved, ["connection_id", "table", "physical_name", "physical_digest"]
        )
    if missing:
        found = datasets_by_key(organization, keys)
    return {key: found[key] for key in keys}


def _adopt_by_physical_name(organization, locations: dict[DatasetKey, dict]) -> dict[DatasetKey, Dataset]:
    wanted = {}
    for key, location in locations.items():
        digest = naming.digest((location or {}).get("physical_name") or "")
        if digest:
            wanted.setdefault(digest, key)
    if not wanted:
        return {}
    adopted = {}
    for dataset in (
        Dataset.objects.for_organization(organization).select_for_update().filter(physical_digest__in=list(wanted))
    ):
        key = wanted[dataset.physical_digest]
        dataset.namespace, dataset.dataset_id = key
        dataset.save(update_fields=["namespace", "dataset_id"])
        adopted[key] = dataset
    return adopted


def _digest_taken(organization, digest: str) -> bool:
    return Dataset.objects.for_organization(organization).filter(physical_digest=digest).exists()


def _known(location: dict) -> dict:
    known = {
        field: value
        for field, value in (location or {}).items()
        if field in ("connection_id", "table", "physical_name") and value
    }
    if known.get("physical_name"):
        known["physical_digest"] = naming.digest(known["physical_name"])
    return known


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


def event_key(event: ParsedEvent) -> dict:
    """The columns that make a stored event unique (see OpenLineageEvent)."""
    if event.kind == RUN_EVENT:
        return {"kind": EventKind.RUN, "run_id": event.run_id, "event_type": event.event_type, "subject_digest": ""}
    if event.kind == JOB_EVENT:
        digest = subject_digest(JOB_EVENT, event.job_namespace, event.job_name)
        return {"kind": EventKind.JOB, "run_id": "", "event_type": "", "subject_digest": digest}
    digest = subject_digest(DATASET_EVENT, event.dataset.namespace, event.dataset.name)
    return {"kind": EventKind.DATASET, "run_id": "", "event_type": "", "subject_digest": digest}


def store_events(
    *, organization: Organization, events: list[tuple[ParsedEvent, dict]]
) -> list[OpenLineageEvent | None]:
    """Stores many parsed events in one INSERT (PostgreSQL); per event its new row, or None for a duplicate
    (of a stored event, or of an earlier one in the same list)."""
    if not events:
        return []
    rows = [
        OpenLineageEvent(
            organization=organization,
            event_time=event.event_time,
            job_namespace=event.job_namespace,
            job_name=event.job_name,
            producer=event.producer,
            payload=payload,
            **event_key(event),
        )
        for event, payload in events
    ]
    inserted = {_row_key(row): row.pk for row in _insert_returning(rows)}
    stored = []
    for row in rows:
        pk = inserted.pop(_row_key(row), None)
        if pk is None:
            stored.append(None)
        else:
            row.pk = pk
            row._state.adding = False
            stored.append(row)
    return stored


def _row_key(row: OpenLineageEvent) -> tuple:
    return (row.kind, row.run_id, row.event_type, row.subject_digest, row.event_time)


def _insert_returning(rows: list[OpenLineageEvent]) -> list[OpenLineageEvent]:
    database = connection
    quote = database.ops.quote_name
    fields = [field for field in OpenLineageEvent._meta.concrete_fields if not field.primary_key]
    values, params = [], []
    for row in rows:
        values.append("(" + ", ".join(["%s"] * len(fields)) + ")")
        params.extend(field.get_db_prep_save(field.pre_save(row, add=True), database) for field in fields)
    # Only quoted model metadata is interpolated; every value is a query parameter.
    sql = (
        f"INSERT INTO {quote(OpenLineageEvent._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join(values)} ON CONFLICT DO NOTHING "
        "RETURNING id, kind, run_id, event_type, subject_digest, event_time"
    )
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    return [
        OpenLineageEvent(pk=pk, kind=kind, run_id=run_id, event_type=event_type, subject_digest=digest, event_time=when)
        for pk, kind, run_id, event_type, digest, when in returned
    ]
