"""Reads for lineage: resolving a dataset, walking the graph, and the impact of a change.

The checks on impacted datasets are checks' rows: `checks.selectors.checks_on` reads them.

A walk is ONE recursive SQL statement over the indexed edge table (PostgreSQL and SQLite alike).
The recursion carries (node, depth) pairs combined with UNION, so a pair is produced at most once:
the walk stops at the depth bound and cannot loop on a cycle (a node on a cycle is seen again only
at a greater depth, and depth is bounded). Path arrays would also stop cycles but grow with the
number of distinct paths, which explodes on a dense graph; (node, depth) pairs are at most
nodes x depth.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models.expressions import RawSQL

from catalog.models import Pipeline
from lineage import naming
from lineage.models import ColumnLineageEdge, Dataset, LineageEdge

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
BOTH = "both"
DEFAULT_DEPTH = 3
MAX_DEPTH = 20
# A walk from a hub can reach a large part of the graph; past this many nodes the answer is cut
# at the nearest nodes first and flagged as truncated.
DEFAULT_MAX_NODES = 5000


DEFAULT_MAX_EDGES = 20_000


def max_nodes() -> int:
    return getattr(settings, "DATAXPIPE_LINEAGE_MAX_NODES", DEFAULT_MAX_NODES)


def max_edges() -> int:
    return getattr(settings, "DATAXPIPE_LINEAGE_MAX_EDGES", DEFAULT_MAX_EDGES)


class AmbiguousDataset(Exception):
    def __init__(self, namespaces: list[str]):
        super().__init__("ambiguous dataset id")
        self.namespaces = namespaces


def resolve_dataset(queryset, dataset_id: str, namespace: str | None) -> Dataset | None:
    """The dataset named `dataset_id` in an organization-scoped `queryset`.

    Without a namespace, the pipeline.json dataset (empty namespace) wins; otherwise the id must be
    unique across namespaces, or AmbiguousDataset names the candidates.
    """
    if namespace is not None:
        found = queryset.filter(dataset_id=dataset_id, namespace=namespace).first()
        if found is None:
            # The name an OpenLineage producer uses for a table that is one node with a pipeline.json
            # dataset (lineage/naming.py): the node answers to it too.
            digest = naming.digest(naming.physical_name(namespace, dataset_id))
            found = queryset.filter(physical_digest=digest).first() if digest else None
        return found
    candidates = list(queryset.filter(dataset_id=dataset_id).order_by("namespace")[:20])
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    if candidates[0].namespace == "":
        return candidates[0]
    raise AmbiguousDataset([candidate.namespace for candidate in candidates])


def datasets_by_key(organization, keys) -> dict[tuple[str, str], Dataset]:
    """(namespace, dataset id) -> the organization's dataset, for the keys that exist. One query; shared by
    registration's upsert (lineage.services) and OpenLineage's generic path (lineage.event_lineage)."""
    keys = set(keys)
    if not keys:
        return {}
    rows = Dataset.objects.for_organization(organization).filter(
        namespace__in={namespace for namespace, _ in keys}, dataset_id__in={name for _, name in keys}
    )
    return {(d.namespace, d.dataset_id): d for d in rows if (d.namespace, d.dataset_id) in keys}


@dataclass
class Walk:
    depths: dict[int, int] = field(default_factory=dict)  # dataset pk -> hops from the start
    edges: set[tuple[int, int, str]] = field(default_factory=set)  # (source pk, target pk, pipeline name)
    truncated: bool = False


_WALK_SQL = """
WITH RECURSIVE walk(node, depth) AS (
    SELECT d.id, 0 FROM {datasets} d WHERE d.id = %s AND d.organization_id = %s
    UNION
    SELECT e.{far}, w.depth + 1
    FROM walk w
    JOIN {edges} e ON e.organization_id = %s AND e.{near} = w.node
    WHERE w.depth < %s
),
reached AS (
    SELECT node, MIN(depth) AS depth FROM walk GROUP BY node ORDER BY MIN(depth), node LIMIT %s
),
-- A few thousand nodes may be joined by millions of edges (dense layers, one edge per pipeline):
-- the answer carries at most this many of them, and says it was cut.
walked_edges AS (
    SELECT e.source_id, e.target_id, p.name
    FROM reached r
    JOIN {edges} e ON e.organization_id = %s AND e.{near} = r.node
    JOIN {pipelines} p ON p.id = e.pipeline_id AND p.organization_id = %s
    WHERE r.depth < %s AND e.{far} IN (SELECT node FROM reached)
    LIMIT %s
)
SELECT 0, r.node, r.depth, NULL FROM reached r
UNION ALL
SELECT 1, source_id, target_id, name FROM walked_edges
"""


def walk(*, organization_id: int, start_pk: int, direction: str, depth: int) -> Walk:
    """Datasets reachable from `start_pk` within `depth` hops in one direction, and the edges between them.

    One SQL statement: the recursive walk, then the reached nodes and the traversed edges as rows
    of two kinds.
    """
    if direction not in (UPSTREAM, DOWNSTREAM):
        raise ValueError(f"walk direction must be {UPSTREAM!r} or {DOWNSTREAM!r}")
    near, far = ("source_id", "target_id") if direction == DOWNSTREAM else ("target_id", "source_id")
    quote = connection.ops.quote_name
    sql = _WALK_SQL.format(
        edges=quote(LineageEdge._meta.db_table),
        pipelines=quote(Pipeline._meta.db_table),
        datasets=quote(Dataset._meta.db_table),
        near=near,
        far=far,
    )
    cap, edge_cap = max_nodes(), max_edges()
    params = [
        *(start_pk, organization_id, organization_id, depth, cap + 1),
        *(organization_id, organization_id, depth, edge_cap + 1),
    ]
    result = Walk()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for kind, first, second, third in rows:
        if kind == 0:
            result.depths[first] = second
        else:
            result.edges.add((first, second, third))
    if len(result.edges) > edge_cap:
        result.truncated = True
        result.edges = set(sorted(result.edges)[:edge_cap])
    if len(result.depths) > cap:
        result.truncated = True
        dropped = max(result.depths, key=lambda pk: (result.depths[pk], pk))
        del result.depths[dropped]
        result.edges = {edge for edge in result.edges if dropped not in edge[:2]}
    return result


# A hub can be read by thousands of pipelines: each node names at most this many per role.
PIPELINES_PER_NODE = 10

_NODES_SQL_POSTGRES = """
SELECT d.id, d.dataset_id, d.namespace, d.connection_id, d."table",
    CASE WHEN n.need_readers THEN ARRAY(
        SELECT DISTINCT e.pipeline_id FROM {edges} e
        WHERE e.organization_id = d.organization_id AND e.source_id = d.id ORDER BY 1 LIMIT %(cap)s
    ) END,
    CASE WHEN n.need_writers THEN ARRAY(
        SELECT DISTINCT e.pipeline_id FROM {edges} e
        WHERE e.organization_id = d.organization_id AND e.target_id = d.id ORDER BY 1 LIMIT %(cap)s
    ) END
FROM unnest(%(pks)s::bigint[], %(need_readers)s::boolean[], %(need_writers)s::boolean[])
    AS n(id, need_readers, need_writers)
JOIN {datasets} d ON d.id = n.id
WHERE d.organization_id = %(org)s
"""


def nodes(organization_id: int, dataset_pks, known_readers=None, known_writers=None) -> dict[int, dict]:
    """Dataset pk -> its fields and the pipelines reading (`read_by`) and writing (`written_by`) it.

    Each list holds at most PIPELINES_PER_NODE names; `*_truncated` says more exist. Two queries on
    PostgreSQL (per node, a capped index-ordered scan of its distinct pipeline ids; then the names
    of all of them at once), four elsewhere. `known_readers` / `known_writers` (pk -> complete set of
    pipeline names, from the walked edges) spare PostgreSQL those lookups.
    """
    pks = [int(pk) for pk in dataset_pks]
    known_readers = known_readers or {}
    known_writers = known_writers or {}
    if connection.vendor == "postgresql":
        raw = _nodes_postgres(organization_id, pks, known_readers, known_writers)
    else:
        raw = _nodes_generic(organization_id, pks)
    pipeline_pks = set()
    for row in raw:
        pipeline_pks.update(row[5] or ())
        pipeline_pks.update(row[6] or ())
    names = _pipeline_names(organization_id, pipeline_pks)
    found = {}
    for pk, dataset_id, namespace, connection_id, table, reader_pks, writer_pks in raw:
        readers = sorted(known_readers[pk]) if pk in known_readers else [names[p] for p in reader_pks or ()]
        writers = sorted(known_writers[pk]) if pk in known_writers else [names[p] for p in writer_pks or ()]
        found[pk] = {
            "pk": pk,
            "dataset_id": dataset_id,
            "namespace": namespace,
            "connection_id": connection_id,
            "table": table,
            "read_by": sorted(readers[:PIPELINES_PER_NODE]),
            "read_by_truncated": len(readers) > PIPELINES_PER_NODE,
            "written_by": sorted(writers[:PIPELINES_PER_NODE]),
            "written_by_truncated": len(writers) > PIPELINES_PER_NODE,
        }
    return found


def _nodes_postgres(organization_id, pks, known_readers, known_writers):
    quote = connection.ops.quote_name
    sql = _NODES_SQL_POSTGRES.format(edges=quote(LineageEdge._meta.db_table), datasets=quote(Dataset._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "org": organization_id,
                "pks": _array_literal(pks),
                "need_readers": _array_literal("f" if pk in known_readers else "t" for pk in pks),
                "need_writers": _array_literal("f" if pk in known_writers else "t" for pk in pks),
                "cap": PIPELINES_PER_NODE + 1,
            },
        )
        return cursor.fetchall()


def _nodes_generic(organization_id, pks):
    touching: dict[str, dict[int, set[int]]] = {"source_id": {}, "target_id": {}}
    base = LineageEdge.objects.for_organization(organization_id)
    for column, into in touching.items():
        rows = base.filter(**{f"{column}__in": pks}).values_list(column, "pipeline_id").distinct().order_by()
        for dataset_pk, pipeline_pk in rows:
            into.setdefault(dataset_pk, set()).add(pipeline_pk)

    def capped(pipeline_pks):
        return sorted(pipeline_pks)[: PIPELINES_PER_NODE + 1]

    rows = (
        Dataset.objects.for_organization(organization_id)
        .filter(pk__in=pks)
        .values_list("pk", "dataset_id", "namespace", "connection_id", "table")
    )
    return [
        (*row, capped(touching["source_id"].get(row[0], ())), capped(touching["target_id"].get(row[0], ())))
        for row in rows
    ]


_NAMES_SQL_POSTGRES = "SELECT id, name FROM {pipelines} WHERE organization_id = %s AND id = ANY(%s::bigint[])"


def _pipeline_names(organization_id: int, pipeline_pks) -> dict[int, str]:
    if not pipeline_pks:
        return {}
    if connection.vendor != "postgresql":
        found = Pipeline.objects.for_organization(organization_id).filter(pk__in=pipeline_pks)
        return dict(found.values_list("pk", "name"))
    # `id = ANY(array)`: one index scan over the sorted ids, cheaper than a join per id.
    sql = _NAMES_SQL_POSTGRES.format(pipelines=connection.ops.quote_name(Pipeline._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, _array_literal(sorted(int(pk) for pk in pipeline_pks))])
        return dict(cursor.fetchall())


def pipelines_reading(organization_id: int, dataset_pks) -> list[str]:
    """Names of every pipeline reading any of these datasets (uncapped: this is the impact list)."""
    return sorted(
        LineageEdge.objects.for_organization(organization_id)
        .filter(**in_pks("source_id", dataset_pks))
        .filter(pipeline__organization_id=organization_id)
        .values_list("pipeline__name", flat=True)
        .distinct()
        .order_by()
    )


def _array_literal(values) -> str:
    """A PostgreSQL array literal of ints or booleans: one text parameter that the server parses, far
    cheaper for thousands of values than the driver adapting a Python list element by element."""
    return "{" + ",".join(str(value) for value in values) + "}"


def in_pks(field: str, pks) -> dict:
    """`field__in` a list of pks: on PostgreSQL as one array parameter, not thousands of placeholders."""
    pks = [int(pk) for pk in pks]
    if connection.vendor == "postgresql":
        return {f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (_array_literal(pks),))}
    return {f"{field}__in": pks}


# A column walk from a wide table can reach many columns: past this many rows the answer is cut.
MAX_COLUMN_ROWS = 5000
# Rows the recursive column walk may produce before it stops (nearest hops first); the answer is then
# flagged truncated. Bounds the cost of one request whatever the column graph's shape.
DEFAULT_MAX_COLUMN_WALK_ROWS = 20_000


def max_column_walk_rows() -> int:
    return getattr(settings, "DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS", DEFAULT_MAX_COLUMN_WALK_ROWS)


_COLUMN_WALK_SQL = """
WITH RECURSIVE walk(origin, dataset, col, depth, transformation_type, transformation_subtype) AS (
    SELECT e.target_column, e.source_id, e.source_column, 1, e.transformation_type, e.transformation_subtype
    FROM {edges} e WHERE e.organization_id = %s AND e.target_id = %s
    UNION
    SELECT w.origin, e.source_id, e.source_column, w.depth + 1, e.transformation_type, e.transformation_subtype
    FROM walk w
    JOIN {edges} e ON e.organization_id = %s AND e.target_id = w.dataset AND e.target_column = w.col
    WHERE w.depth < %s
),
-- The recursion yields one hop level after the other and stops once this many rows are pulled: a
-- dense or cyclic column graph repeats every (origin, column) at every depth (origins x columns x
-- depth rows), which took seconds at 7,200 edges and minutes at 100,000.
walked AS MATERIALIZED (
    SELECT * FROM walk LIMIT %s
),
nearest AS (
    SELECT origin, dataset, col, depth, transformation_type, transformation_subtype,
           ROW_NUMBER() OVER (PARTITION BY origin, dataset, col ORDER BY depth, transformation_type) AS rank
    FROM walked
)
-- Scalar primary-key lookups per reached column: never a scan of the organization's datasets,
-- whatever the planner believes about their number (and SQLite has no LATERAL).
SELECT (SELECT COUNT(*) FROM walked) AS walked_rows, n.origin, n.dataset,
    (SELECT x.dataset_id FROM {datasets} x WHERE x.id = n.dataset AND x.organization_id = %s) AS dataset_id,
    (SELECT x.namespace FROM {datasets} x WHERE x.id = n.dataset AND x.organization_id = %s) AS namespace,
    n.col, n.depth, n.transformation_type, n.transformation_subtype
FROM nearest n
WHERE n.rank = 1
ORDER BY n.origin, n.depth, dataset_id, namespace, n.col
LIMIT %s
"""


@dataclass
class ColumnWalk:
    upstream: dict[str, list[dict]] = field(default_factory=dict)  # column -> its upstream columns, nearest first
    truncated: bool = False


def column_upstream(*, organization_id: int, dataset_pk: int, depth: int) -> ColumnWalk:
    """Per column of the dataset, the columns it derives from within `depth` hops, nearest first, with
    the transformation of the hop that reached each (the facet's type and subtype, "" when not given).

    ONE recursive statement over the indexed column edge table, like `walk`: (origin, dataset, column,
    depth) tuples combined with UNION, so cycles stop at the depth bound.
    """
    quote = connection.ops.quote_name
    sql = _COLUMN_WALK_SQL.format(edges=quote(ColumnLineageEdge._meta.db_table), datasets=quote(Dataset._meta.db_table))
    params = [
        organization_id,
        dataset_pk,
        organization_id,
        depth,
        walk_cap := max_column_walk_rows(),
        organization_id,
        organization_id,
        MAX_COLUMN_ROWS + 1,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = ColumnWalk(truncated=len(rows) > MAX_COLUMN_ROWS or bool(rows and rows[0][0] >= walk_cap))
    for _, origin, pk, dataset_id, namespace, column, hops, kind, subtype in rows[:MAX_COLUMN_ROWS]:
        result.upstream.setdefault(origin, []).append(
            {
                "key": pk,
                "dataset_id": dataset_id,
                "namespace": namespace,
                "column": column,
                "depth": hops,
                "transformation_type": kind or None,
                "transformation_subtype": subtype or None,
            }
        )
    return result
