"""Writes for lineage: datasets, edges and stored OpenLineage events.

Two producers describe lineage: pipeline registration (datasets declared by pipeline.json, in the
empty namespace, and the edges between them) and OpenLineage events (namespaced datasets). Both
go through the same `upsert_datasets`. Applying a whole OpenLineage event spans apps (the run is
the catalog's, assertion results are checks'): `workflows.openlineage` does that, calling these.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from config.db_cursors import server_bound_cursor
from config.db_inserts import insert_unless_conflict
from config.logging import redact, secrets_in_play
from lineage import naming
from lineage.models import Dataset, EventKind, LineageEdge, OpenLineageEvent
from lineage.openlineage_events import DATASET_EVENT, JOB_EVENT, RUN_EVENT, ParsedEvent
from lineage.screening import SECRET_MARKERS
from lineage.selectors import datasets_by_key
from orgs.models import Organization

DECLARED_NAMESPACE = ""  # datasets declared by pipeline.json; OpenLineage ones carry their namespace
DatasetKey = tuple[str, str]  # (namespace, dataset id)


def redact_payload(payload):
    """The event with anything that looks like a secret masked (DataXPipe keys, bearer tokens, DSN
    passwords), in every string value. Producers should not send them, but a dataset namespace such
    as postgres://etl:password@db:5432 happens; the masking is deterministic, so the dataset keeps
    one identity across events."""
    return masked_payload(payload)[0]


def masked_payload(payload) -> tuple[object, str | None]:
    """`redact_payload(payload)` and, when it could tell cheaply, the result as JSON text (else None).

    Masking walks every string of the event through the patterns: most events have none of their
    markers anywhere, which one scan of the event's JSON text shows (json.dumps escapes no ASCII
    letter, "@" or "_", and a non-ASCII character is escaped, so a marker in any string or key is in
    the text). Then the event is returned as is with that text, which the batch path stores."""
    if not secrets_in_play():
        try:
            text = json.dumps(payload)
        except (TypeError, ValueError):
            text = None
        if text is not None:
            lowered = text.lower()
            if not any(marker in lowered for marker in SECRET_MARKERS):
                return payload, text
    return _redacted(payload), None


def _redacted(payload):
    if isinstance(payload, str):
        return redact(payload)
    if isinstance(payload, dict):
        # Keys too: producers key facets by connection strings or variable values now and then.
        return {redact(key): _redacted(value) for key, value in payload.items()}
    if isinstance(payload, list):
        return [_redacted(value) for value in payload]
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
    key = event_key(event)
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
    *,
    organization: Organization,
    events: list[tuple[ParsedEvent, dict]],
    texts: list[str | None] | None = None,
    sent: tuple[str, list[int]] | None = None,
) -> list[int | None]:
    """Stores many parsed events in one INSERT (PostgreSQL); per event its new row's key, or None for a duplicate
    (of a stored event, or of an earlier one in the same list). `texts`, when given, are the payloads
    as JSON text already (None where not), so that they are not serialised twice. `sent`, instead: the
    JSON array text the events came in and each event's place in it (from 1); PostgreSQL splits it, so
    that no payload is serialised or bound on its own (the events must need no masking).

    One row per event built as columns (`unnest` of one array per column): a few parameters whatever
    the batch's size, instead of one per value, which the client-side binding would have to splice
    into the statement one by one."""
    if not events:
        return []
    rows = []
    for position, (event, payload) in enumerate(events):
        key = event_key(event)
        if sent is None:
            text = texts[position] if texts is not None else None
            stored = text if text is not None else json.dumps(payload)
        else:
            stored = sent[1][position]
        rows.append(
            (
                key["kind"],
                key["subject_digest"],
                key["run_id"],
                key["event_type"],
                event.event_time,
                event.job_namespace,
                event.job_name,
                event.producer,
                stored,
            )
        )
    columns = list(zip(*rows, strict=True))
    parameters = {
        "org": organization.pk,
        "now": timezone.now(),
        "kinds": list(columns[0]),
        "digests": list(columns[1]),
        "runs": list(columns[2]),
        "types": list(columns[3]),
        "times": list(columns[4]),
        "namespaces": list(columns[5]),
        "names": list(columns[6]),
        "producers": list(columns[7]),
        "payloads": list(columns[8]),
    }
    if sent is not None:
        parameters["sent"] = sent[0]
    with server_bound_cursor() as cursor:
        cursor.execute(_INSERT_SENT_EVENTS_SQL if sent is not None else _INSERT_EVENTS_SQL, parameters)
        inserted = {(kind, run, kind_type, digest, micros): pk for pk, kind, run, kind_type, digest, micros in cursor}
    return [inserted.pop((row[0], row[2], row[3], row[1], _micros(row[4])), None) for row in rows]


def _micros(when: datetime) -> int:
    """Microseconds since the epoch: what the INSERT answers for an event time (an integer reads faster
    than a timestamp, 500 at a time)."""
    return (when - _EPOCH) // _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# ORDINALITY keeps the events' order, so that of two equal keys in one batch the first is stored.
_INSERT_EVENTS_TEMPLATE = """
INSERT INTO lineage_openlineageevent (organization_id, kind, subject_digest, run_id, event_type, event_time,
                                      job_namespace, job_name, producer, payload, received_at)
SELECT %(org)s, e.kind, e.digest, e.run, e.type, e.at, e.namespace, e.name, e.producer, {payload}, %(now)s
FROM unnest(%(kinds)b::text[], %(digests)b::text[], %(runs)b::text[], %(types)b::text[],
            %(times)b::timestamptz[], %(namespaces)b::text[], %(names)b::text[], %(producers)b::text[],
            %(payloads)b::{payloads_type}[])
     WITH ORDINALITY AS e(kind, digest, run, type, at, namespace, name, producer, payload, position)
{join}
ORDER BY e.position
ON CONFLICT DO NOTHING
RETURNING id, kind, run_id, event_type, subject_digest, (extract(epoch FROM event_time) * 1000000)::bigint
"""
_INSERT_EVENTS_SQL = _INSERT_EVENTS_TEMPLATE.format(payload="e.payload::jsonb", payloads_type="text", join="")
# The payload column holds each event's place in the sent array; the array is parsed once, in the FROM clause.
_INSERT_SENT_EVENTS_SQL = _INSERT_EVENTS_TEMPLATE.format(
    payload="sent.value",
    payloads_type="bigint",
    join="JOIN jsonb_array_elements(%(sent)s::jsonb) WITH ORDINALITY AS sent(value, place) ON sent.place = e.payload",
)
