"""The lineage answer for one dataset: nodes and edges a UI can draw, and the impact of a change.

A constant number of queries whatever the graph: one recursive walk per direction, the datasets
with the pipelines reading and writing them (plus, only when a hub's reader list was capped, one
uncapped lookup of the pipelines reading it).

The impact names the checks on the impacted datasets too, but checks are the checks app's rows,
which lineage may not import: `lineage_graph` leaves `impact.checks` empty and
`workflows.lineage.lineage_graph` fills it, in the same snapshot, with one more query.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from lineage import selectors
from lineage.models import Dataset
from lineage.selectors import BOTH, DOWNSTREAM, UPSTREAM


def _ref(row: dict, depth: int) -> dict:
    return {"key": row["pk"], "dataset_id": row["dataset_id"], "namespace": row["namespace"], "depth": depth}


@contextmanager
def snapshot():
    """One snapshot for all the reads of an answer. JIT compilation is off: the per-node query's cost
    estimate crosses PostgreSQL's JIT threshold, and compiling costs more than these index lookups."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def lineage_graph(*, dataset: Dataset, direction: str, depth: int) -> dict:
    """The answer without the checks of the impact (see the module docstring)."""
    with snapshot():
        return build(dataset, direction, depth)


def build(dataset: Dataset, direction: str, depth: int) -> dict:
    organization_id = dataset.organization_id
    walks = {}
    for side in (UPSTREAM, DOWNSTREAM):
        if direction in (side, BOTH):
            walks[side] = selectors.walk(
                organization_id=organization_id, start_pk=dataset.pk, direction=side, depth=depth
            )

    node_pks = {dataset.pk}
    edges: set[tuple[int, int, str]] = set()
    for result in walks.values():
        node_pks.update(result.depths)
        edges.update(result.edges)
    up = walks.get(UPSTREAM)
    down = walks.get(DOWNSTREAM)
    rows = selectors.nodes(
        organization_id,
        node_pks,
        known_readers=_complete_ends(down, depth, end=0),
        known_writers=_complete_ends(up, depth, end=1),
    )
    nodes = []
    for pk in node_pks:
        row = rows[pk]
        nodes.append(
            {
                "key": pk,
                "dataset_id": row["dataset_id"],
                "namespace": row["namespace"],
                "connection_id": row["connection_id"],
                "table": row["table"],
                "upstream_depth": up.depths.get(pk) if up else None,
                "downstream_depth": down.depths.get(pk) if down else None,
                "written_by": row["written_by"],
                "written_by_truncated": row["written_by_truncated"],
                "read_by": row["read_by"],
                "read_by_truncated": row["read_by_truncated"],
            }
        )
    nodes.sort(key=lambda n: (_nearest(n), n["dataset_id"], n["namespace"], n["key"]))

    grouped: dict[tuple[int, int], set[str]] = {}
    for source, target, pipeline in edges:
        grouped.setdefault((source, target), set()).add(pipeline)
    edge_list = [
        {"source": source, "target": target, "pipelines": sorted(pipelines)}
        for (source, target), pipelines in sorted(grouped.items())
    ]

    start = rows[dataset.pk]
    answer = {
        "dataset": {k: start[k] for k in ("dataset_id", "namespace", "connection_id", "table")} | {"key": dataset.pk},
        "direction": direction,
        "depth": depth,
        "nodes": nodes,
        "edges": edge_list,
        "upstream": _keys(up, rows, dataset.pk),
        "downstream": _keys(down, rows, dataset.pk),
        "impact": None,
        "truncated": any(result.truncated for result in walks.values()),
    }
    if down is not None:
        answer["impact"] = _impact(dataset, down, rows)
    return answer


def _complete_ends(result, depth, end) -> dict[int, set[str]]:
    """Pipelines on the walked edges at each node short of the depth bound, where the walk saw every edge.

    Downstream, all edges out of such a node were walked (its readers); upstream, all edges into it
    (its writers). `end` is the node's position in the edge tuple.
    """
    if result is None or result.truncated:
        return {}
    complete = {pk: set() for pk, hops in result.depths.items() if hops < depth}
    for edge in result.edges:
        if edge[end] in complete:
            complete[edge[end]].add(edge[2])
    return complete


def _nearest(node: dict) -> int:
    depths = [d for d in (node["upstream_depth"], node["downstream_depth"]) if d is not None]
    return min(depths) if depths else 0


def _ordered(result, rows, start_pk) -> list[int]:
    return sorted(
        (pk for pk in result.depths if pk != start_pk),
        key=lambda pk: (result.depths[pk], rows[pk]["dataset_id"], rows[pk]["namespace"]),
    )


def _keys(result, rows, start_pk) -> list[int] | None:
    """Node keys reached in one direction, nearest first (the nodes carry the details)."""
    return None if result is None else _ordered(result, rows, start_pk)


def _side(result, rows, start_pk) -> list[dict]:
    return [_ref(rows[pk], result.depths[pk]) for pk in _ordered(result, rows, start_pk)]


def _impact(dataset, down, rows) -> dict:
    """What a schema change of `dataset` would affect within the walked depth.

    The downstream datasets and the pipelines that read the dataset itself or any downstream dataset.
    `checks` is left empty: workflows.lineage fills it with the live checks on them.
    """
    affected = set(down.depths)
    # Every edge out of a downstream node short of the bound was walked; the frontier's readers are
    # in its read_by. Only capped lists (hubs) and a truncated walk need the uncapped lookup.
    reading = {pipeline for _, _, pipeline in down.edges}
    unsure = set()
    for pk in affected:
        reading.update(rows[pk]["read_by"])
        if rows[pk]["read_by_truncated"] or down.truncated:
            unsure.add(pk)
    if unsure:
        reading.update(selectors.pipelines_reading(dataset.organization_id, unsure))
    return {"datasets": _side(down, rows, dataset.pk), "pipelines": sorted(reading), "checks": []}
