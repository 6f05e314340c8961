"""The lineage answer for one dataset: nodes and edges a UI can draw, and the impact of a change.

A constant number of queries whatever the graph: one recursive walk per direction, then the
datasets with the pipelines reading and writing them, and for the impact the pipelines reading
the downstream datasets and the live checks on them.
"""

from lineage import selectors
from lineage.models import Dataset
from lineage.selectors import BOTH, DOWNSTREAM, UPSTREAM


def _ref(row: dict, depth: int) -> dict:
    return {"key": row["pk"], "dataset_id": row["dataset_id"], "namespace": row["namespace"], "depth": depth}


def lineage_graph(*, dataset: Dataset, direction: str, depth: int) -> dict:
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
    rows = selectors.nodes(organization_id, node_pks)
    up = walks.get(UPSTREAM)
    down = walks.get(DOWNSTREAM)
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
        "upstream": _side(up, rows, dataset.pk),
        "downstream": _side(down, rows, dataset.pk),
        "impact": None,
        "truncated": any(result.truncated for result in walks.values()),
    }
    if down is not None:
        answer["impact"] = _impact(dataset, down, rows)
    return answer


def _nearest(node: dict) -> int:
    depths = [d for d in (node["upstream_depth"], node["downstream_depth"]) if d is not None]
    return min(depths) if depths else 0


def _side(result, rows, start_pk) -> list[dict] | None:
    if result is None:
        return None
    ordered = sorted(
        (pk for pk in result.depths if pk != start_pk),
        key=lambda pk: (result.depths[pk], rows[pk]["dataset_id"], rows[pk]["namespace"]),
    )
    return [_ref(rows[pk], result.depths[pk]) for pk in ordered]


def _impact(dataset, down, rows) -> dict:
    """What a schema change of `dataset` would affect within the walked depth.

    The downstream datasets; the pipelines that read the dataset itself or any downstream dataset;
    the live checks defined on the dataset itself or downstream.
    """
    affected = set(down.depths)
    checks = selectors.checks_on(dataset.organization_id, affected)
    return {
        "datasets": _side(down, rows, dataset.pk),
        "pipelines": selectors.pipelines_reading(dataset.organization_id, affected),
        "checks": [
            {
                "check_id": check["check_id"],
                "dataset_id": rows[check["dataset_id"]]["dataset_id"],
                "namespace": rows[check["dataset_id"]]["namespace"],
                "pipeline": check["pipeline__name"],
                "type": check["type"],
                "severity": check["severity"],
            }
            for check in checks
        ],
    }
