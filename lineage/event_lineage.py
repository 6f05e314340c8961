"""Lineage's writes for one OpenLineage event: its datasets, edges, schemas and column lineage, set-based.

On PostgreSQL the datasets and edges of an event are ONE statement (a data-modifying CTE): find
each dataset by its identity (namespace, name) or by its physical name (lineage/naming.py), insert
the missing ones, refresh changed schemas, and insert the input x output edges. Column lineage,
when the event carries any, is one more statement. Elsewhere (SQLite) the same rules run as a few
ORM statements. This is the per-event path of ingestion, hence the single statement: see the
statement counts in docs/benchmarks.md.
"""

import json
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from lineage import naming
from lineage.models import ColumnLineageEdge, Dataset, LineageEdge
from lineage.selectors import datasets_by_key
from orgs.models import Organization

INPUT, OUTPUT, REFERENCED = 0, 1, 2  # roles: an edge runs from every INPUT to every OUTPUT


@dataclass
class DatasetRef:
    namespace: str
    name: str
    role: int
    physical_name: str = ""
    schema_fields: list | None = None  # the `schema` facet's fields when reported
    # Edges join inputs to outputs of the same group (one event), tied to the group's pipeline.
    group: int = 0
    pipeline_id: int | None = None
    pipeline_version_id: int | None = None


@dataclass
class ColumnEdge:
    target: tuple[str, str]  # (namespace, name) of the output dataset
    target_column: str
    source: tuple[str, str]
    source_column: str
    transformation_type: str = ""
    transformation_subtype: str = ""
    transformation_description: str = ""


@dataclass
class EventLineage:
    datasets: dict[tuple[str, str], Dataset] = field(default_factory=dict)  # by (namespace, name)
    inputs: dict[tuple[str, str], Dataset] = field(default_factory=dict)
    edges: int = 0


def record(
    organization: Organization, pipeline, refs: list[DatasetRef], column_edges: list[ColumnEdge] = ()
) -> EventLineage:
    """Datasets (created when new, found by identity or physical name), an edge per input x output tied
    to `pipeline` (None: datasets only), schemas, and column lineage. Idempotent."""
    if not refs:
        return EventLineage()
    refs = _merged(refs)
    for ref in refs:
        ref.pipeline_id = pipeline.pk if pipeline is not None else None
        ref.pipeline_version_id = pipeline.current_version_id if pipeline is not None else None
    now = timezone.now()
    if connection.vendor == "postgresql":
        ids = _record_postgres(organization, refs, now)
    else:
        ids = _record_generic(organization, pipeline, refs, now)
    found = EventLineage()
    for index, ref in enumerate(refs):
        dataset = _known_row(organization, ids[index], ref)
        found.datasets[(ref.namespace, ref.name)] = dataset
        if ref.role == INPUT:
            found.inputs[(ref.namespace, ref.name)] = dataset
    sources = {ids[i] for i, ref in enumerate(refs) if ref.role == INPUT}
    targets = {ids[i] for i, ref in enumerate(refs) if ref.role == OUTPUT}
    found.edges = sum(1 for s in sources for t in targets if s != t) if pipeline is not None else 0
    if column_edges:
        _record_columns(organization, found.datasets, column_edges, now)
    return found


def record_many(organization: Organization, refs: list[DatasetRef], column_edges: list[ColumnEdge] = ()) -> dict:
    """Several events' datasets at once (PostgreSQL): each ref carries its event's group and pipeline.
    Returns (group, namespace, name) -> dataset pk."""
    refs = _merged(refs)
    now = timezone.now()
    ids = _record_postgres(organization, refs, now)
    found = {(ref.group, ref.namespace, ref.name): ids[index] for index, ref in enumerate(refs)}
    if column_edges:
        rows = {
            (ns, name): _known_row(organization, pk, DatasetRef(ns, name, REFERENCED))
            for (_, ns, name), pk in found.items()
        }
        _record_columns(organization, rows, column_edges, now)
    return found


def _merged(refs: list[DatasetRef]) -> list[DatasetRef]:
    """One ref per (group, namespace, name, role); the last reported schema wins."""
    merged: dict[tuple, DatasetRef] = {}
    for ref in refs:
        key = (ref.group, ref.namespace, ref.name, ref.role)
        if key in merged and ref.schema_fields is None:
            continue
        merged[key] = ref
    return list(merged.values())


def known_row(organization, pk: int, namespace: str, name: str) -> Dataset:
    """A dataset row known by its key (see `_known_row`)."""
    return _known_row(organization, pk, DatasetRef(namespace, name, REFERENCED))


def _known_row(organization, pk: int, ref: DatasetRef) -> Dataset:
    """The dataset row by its key, without reading it again: what callers need of it is the key (for
    foreign keys). Its namespace and id are the event's, which for a dataset found by its physical
    name are not the row's own."""
    row = Dataset(pk=pk, organization=organization, namespace=ref.namespace, dataset_id=ref.name)
    row._state.adding = False
    return row


_UPSERT_SQL = """
WITH wanted(ord, namespace, dataset_id, physical_name, physical_digest, schema_fields) AS (
    SELECT * FROM unnest(%(ords)s::int[], %(namespaces)s::text[], %(names)s::text[], %(physical)s::text[],
                         %(digests)s::text[], %(schemas)s::text[])
),
pairs(source_ord, target_ord, pipeline, version) AS (
    SELECT * FROM unnest(%(sources)s::int[], %(targets)s::int[], %(pipelines)s::bigint[], %(versions)s::bigint[])
),
matches AS (
    SELECT w.ord, d.id, 0 AS preference FROM wanted w
    JOIN lineage_dataset d ON d.organization_id = %(org)s AND d.namespace = w.namespace AND d.dataset_id = w.dataset_id
    UNION ALL
    SELECT w.ord, d.id, 1 FROM wanted w
    JOIN lineage_dataset d ON d.organization_id = %(org)s AND d.physical_digest = w.physical_digest
    WHERE w.physical_digest <> '' AND d.physical_digest <> ''
),
existing AS (
    SELECT DISTINCT ON (ord) ord, id FROM matches ORDER BY ord, preference
),
inserted AS (
    INSERT INTO lineage_dataset (organization_id, dataset_id, namespace, connection_id, "table",
                                 physical_name, physical_digest, schema_fields, created_at)
    SELECT %(org)s, w.dataset_id, w.namespace, '', '', w.physical_name, w.physical_digest,
           COALESCE(w.schema_fields::jsonb, '[]'::jsonb), %(now)s
    FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = w.ord)
    ORDER BY w.namespace, w.dataset_id
    ON CONFLICT DO NOTHING
    RETURNING id, namespace, dataset_id
),
resolved AS (
    SELECT ord, id FROM existing
    UNION ALL
    SELECT w.ord, i.id FROM wanted w JOIN inserted i ON i.namespace = w.namespace AND i.dataset_id = w.dataset_id
),
schemas AS (
    UPDATE lineage_dataset d SET schema_fields = w.schema_fields::jsonb
    FROM existing e JOIN wanted w ON w.ord = e.ord
    WHERE d.id = e.id AND d.organization_id = %(org)s AND w.schema_fields IS NOT NULL
      AND d.schema_fields <> w.schema_fields::jsonb
),
edges AS (
    INSERT INTO lineage_lineageedge
        (organization_id, source_id, target_id, pipeline_id, pipeline_version_id, created_at)
    SELECT DISTINCT ON (s.id, t.id, p.pipeline) %(org)s, s.id, t.id, p.pipeline, p.version, %(now)s
    FROM pairs p JOIN resolved s ON s.ord = p.source_ord JOIN resolved t ON t.ord = p.target_ord
    WHERE s.id <> t.id
    ORDER BY s.id, t.id, p.pipeline
    ON CONFLICT DO NOTHING
)
SELECT ord, id FROM resolved
"""


def _plan(refs) -> tuple[list[DatasetRef], list[int], list[tuple]]:
    """The distinct datasets (one per namespace and name, the last reported schema), each ref's position
    among them, and the distinct (source, target, pipeline, version) edges between positions."""
    distinct: dict[tuple[str, str], int] = {}
    datasets: list[DatasetRef] = []
    positions = []
    for ref in refs:
        key = (ref.namespace, ref.name)
        if key not in distinct:
            distinct[key] = len(datasets)
            datasets.append(ref)
        elif ref.schema_fields is not None:
            datasets[distinct[key]] = ref
        positions.append(distinct[key])
    by_group: dict[int, tuple[list, list]] = {}
    for ref, position in zip(refs, positions, strict=True):
        if ref.pipeline_id is None or ref.role not in (INPUT, OUTPUT):
            continue
        sources, targets = by_group.setdefault(ref.group, ([], []))
        (sources if ref.role == INPUT else targets).append((position, ref.pipeline_id, ref.pipeline_version_id))
    pairs = {
        (source, target, pipeline, version)
        for sources, targets in by_group.values()
        for source, pipeline, version in sources
        for target, _, _ in targets
        if source != target
    }
    return datasets, positions, sorted(pairs, key=lambda pair: (pair[0], pair[1], pair[2]))


def _params(organization, datasets, pairs, now) -> dict:
    return {
        "org": organization.pk,
        "now": now,
        "ords": list(range(len(datasets))),
        "namespaces": [ref.namespace for ref in datasets],
        "names": [ref.name for ref in datasets],
        "physical": [ref.physical_name for ref in datasets],
        "digests": [naming.digest(ref.physical_name) for ref in datasets],
        "schemas": [None if ref.schema_fields is None else json.dumps(ref.schema_fields) for ref in datasets],
        "sources": [pair[0] for pair in pairs],
        "targets": [pair[1] for pair in pairs],
        "pipelines": [pair[2] for pair in pairs],
        "versions": [pair[3] for pair in pairs],
    }


def _record_postgres(organization, refs, now) -> dict[int, int]:
    """ref index -> dataset pk. A dataset inserted by a parallel transaction after this statement's
    snapshot (or under a physical name another new dataset of the same statement has) is neither seen
    nor inserted: the statement then runs once more, and sees it."""
    datasets, positions, pairs = _plan(refs)
    ids: dict[int, int] = {}
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_SQL, _params(organization, datasets, pairs, now))
            ids = dict(cursor.fetchall())
        if len(ids) == len(datasets):
            return {index: ids[position] for index, position in enumerate(positions)}
    missing = [datasets[i] for i in range(len(datasets)) if i not in ids]
    raise RuntimeError(f"datasets could not be recorded: {[(r.namespace, r.name) for r in missing]}")


def _record_generic(organization, pipeline, refs, now) -> dict[int, int]:
    """The same rules with the ORM: identity first, then physical name, then a new row."""
    ids = _find_generic(organization, refs)
    missing = {}
    for index, ref in enumerate(refs):
        if index not in ids:
            missing.setdefault(
                (ref.namespace, ref.name),
                Dataset(
                    organization=organization,
                    namespace=ref.namespace,
                    dataset_id=ref.name,
                    physical_name=ref.physical_name,
                    physical_digest=naming.digest(ref.physical_name),
                    schema_fields=ref.schema_fields or [],
                    created_at=now,
                ),
            )
    if missing:
        Dataset.objects.bulk_create(
            sorted(missing.values(), key=lambda d: (d.namespace, d.dataset_id)), ignore_conflicts=True
        )
        ids = _find_generic(organization, refs)
    changed = []
    current = {row.pk: row for row in Dataset.objects.for_organization(organization).filter(pk__in=set(ids.values()))}
    for index, ref in enumerate(refs):
        row = current[ids[index]]
        if ref.schema_fields is not None and row.schema_fields != ref.schema_fields:
            row.schema_fields = ref.schema_fields
            changed.append(row)
    if changed:
        Dataset.objects.for_organization(organization).bulk_update(changed, ["schema_fields"])
    if pipeline is not None:
        sources = {ids[i] for i, ref in enumerate(refs) if ref.role == INPUT}
        targets = {ids[i] for i, ref in enumerate(refs) if ref.role == OUTPUT}
        LineageEdge.objects.bulk_create(
            [
                LineageEdge(
                    organization=organization,
                    source_id=s,
                    target_id=t,
                    pipeline=pipeline,
                    pipeline_version_id=pipeline.current_version_id,
                    created_at=now,
                )
                for s in sorted(sources)
                for t in sorted(targets)
                if s != t
            ],
            ignore_conflicts=True,
        )
    return ids


def _find_generic(organization, refs) -> dict[int, int]:
    by_identity = {key: d.pk for key, d in datasets_by_key(organization, {(r.namespace, r.name) for r in refs}).items()}
    digests = {naming.digest(r.physical_name) for r in refs if r.physical_name}
    by_digest = (
        dict(
            Dataset.objects.for_organization(organization)
            .filter(physical_digest__in=digests)
            .values_list("physical_digest", "pk")
        )
        if digests
        else {}
    )
    ids = {}
    for index, ref in enumerate(refs):
        pk = by_identity.get((ref.namespace, ref.name)) or by_digest.get(naming.digest(ref.physical_name))
        if pk is not None:
            ids[index] = pk
    return ids


def _record_columns(organization, datasets, column_edges: list[ColumnEdge], now) -> None:
    rows = []
    for edge in column_edges:
        target, source = datasets.get(edge.target), datasets.get(edge.source)
        if target is None or source is None:
            continue
        rows.append(
            ColumnLineageEdge(
                organization=organization,
                target=target,
                target_column=edge.target_column,
                source=source,
                source_column=edge.source_column,
                transformation_type=edge.transformation_type,
                transformation_subtype=edge.transformation_subtype,
                transformation_description=edge.transformation_description,
                created_at=now,
            )
        )
    ColumnLineageEdge.objects.bulk_create(rows, ignore_conflicts=True)
