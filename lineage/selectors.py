"""Reads for lineage: resolving a dataset, walking the graph, and the impact of a change.

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
from django.db.models import F, Q

from checks.models import CheckDefinition
from lineage.models import Dataset, LineageEdge

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
BOTH = "both"
DEFAULT_DEPTH = 3
MAX_DEPTH = 20
# A walk from a hub can reach a large part of the graph; past this many nodes the answer is cut
# at the nearest nodes first and flagged as truncated.
DEFAULT_MAX_NODES = 5000


def max_nodes() -> int:
    return getattr(settings, "DATAXPIPE_LINEAGE_MAX_NODES", DEFAULT_MAX_NODES)


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
        return queryset.filter(dataset_id=dataset_id, namespace=namespace).first()
    candidates = list(queryset.filter(dataset_id=dataset_id).order_by("namespace")[:20])
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    if candidates[0].namespace == "":
        return candidates[0]
    raise AmbiguousDataset([candidate.namespace for candidate in candidates])


@dataclass
class Walk:
    depths: dict[int, int] = field(default_factory=dict)  # dataset pk -> hops from the start
    edges: set[tuple[int, int, int]] = field(default_factory=set)  # (source pk, target pk, pipeline pk)
    truncated: bool = False


_WALK_SQL = """
WITH RECURSIVE walk(node, depth) AS (
    SELECT CAST(%s AS BIGINT), 0
    UNION
    SELECT e.{far}, w.depth + 1
    FROM walk w
    JOIN {edges} e ON e.organization_id = %s AND e.{near} = w.node
    WHERE w.depth < %s
),
reached AS (
    SELECT node, MIN(depth) AS depth FROM walk GROUP BY node ORDER BY MIN(depth), node LIMIT %s
)
SELECT 0, r.node, r.depth, NULL FROM reached r
UNION ALL
SELECT 1, e.source_id, e.target_id, e.pipeline_id
FROM reached r
JOIN {edges} e ON e.organization_id = %s AND e.{near} = r.node
WHERE r.depth < %s AND e.{far} IN (SELECT node FROM reached)
"""


def walk(*, organization_id: int, start_pk: int, direction: str, depth: int) -> Walk:
    """Datasets reachable from `start_pk` within `depth` hops in one direction, and the edges between them.

    One SQL statement: the recursive walk, then the reached nodes and the traversed edges as rows
    of two kinds.
    """
    if direction not in (UPSTREAM, DOWNSTREAM):
        raise ValueError(f"walk direction must be {UPSTREAM!r} or {DOWNSTREAM!r}")
    near, far = ("source_id", "target_id") if direction == DOWNSTREAM else ("target_id", "source_id")
    sql = _WALK_SQL.format(edges=connection.ops.quote_name(LineageEdge._meta.db_table), near=near, far=far)
    cap = max_nodes()
    params = [start_pk, organization_id, depth, cap + 1, organization_id, depth]
    result = Walk()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for kind, first, second, third in rows:
        if kind == 0:
            result.depths[first] = second
        else:
            result.edges.add((first, second, third))
    if len(result.depths) > cap:
        result.truncated = True
        dropped = max(result.depths, key=lambda pk: (result.depths[pk], pk))
        del result.depths[dropped]
        result.edges = {edge for edge in result.edges if dropped not in edge[:2]}
    return result


def pipelines_touching(organization_id: int, dataset_pks) -> tuple[dict, dict, dict]:
    """(readers, writers, names): dataset pk -> set of pipeline pks reading / writing it, pipeline pk -> name.

    Two queries whatever the number of datasets.
    """
    readers: dict[int, set[int]] = {}
    writers: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    base = LineageEdge.objects.filter(organization_id=organization_id)
    for column, into in (("source_id", readers), ("target_id", writers)):
        rows = (
            base.filter(**{f"{column}__in": dataset_pks})
            .values_list(column, "pipeline_id", "pipeline__name")
            .distinct()
            .order_by()
        )
        for dataset_pk, pipeline_pk, pipeline_name in rows:
            into.setdefault(dataset_pk, set()).add(pipeline_pk)
            names[pipeline_pk] = pipeline_name
    return readers, writers, names


def checks_on(organization_id: int, dataset_pks) -> list[dict]:
    """Check definitions that are live on these datasets: ad hoc, or from their pipeline's current version."""
    live = (
        Q(pipeline__isnull=True)
        | Q(pipeline_version__isnull=True)
        | Q(pipeline_version_id=F("pipeline__current_version_id"))
    )
    return list(
        CheckDefinition.objects.filter(organization_id=organization_id, dataset_id__in=dataset_pks)
        .filter(live)
        .order_by("check_id", "id")
        .values("check_id", "dataset_id", "type", "severity", "pipeline__name")
    )


def datasets_by_pk(organization_id: int, dataset_pks) -> dict[int, dict]:
    rows = Dataset.objects.filter(organization_id=organization_id, pk__in=dataset_pks).values(
        "pk", "dataset_id", "namespace", "connection_id", "table"
    )
    return {row["pk"]: row for row in rows}
