"""The lineage answer with the checks a change would impact: lineage's graph plus checks' definitions.

Both reads happen in one snapshot (lineage.graph.snapshot), so the checks match the walked graph.
"""

from checks import selectors as checks_selectors
from lineage import graph
from lineage.models import Dataset


def lineage_graph(*, dataset: Dataset, direction: str, depth: int) -> dict:
    """lineage.graph's answer, its impact naming the live checks on the dataset and everything downstream."""
    with graph.snapshot():
        answer = graph.build(dataset, direction, depth)
        if answer["impact"] is not None:
            answer["impact"]["checks"] = _impacted_checks(dataset, answer)
    return answer


def _impacted_checks(dataset: Dataset, answer: dict) -> list[dict]:
    nodes = {node["key"]: node for node in answer["nodes"]}
    impacted = {dataset.pk, *answer["downstream"]}
    return [
        {
            "check_id": check["check_id"],
            "dataset_id": nodes[check["dataset_id"]]["dataset_id"],
            "namespace": nodes[check["dataset_id"]]["namespace"],
            "pipeline": check["pipeline__name"],
            "type": check["type"],
            "severity": check["severity"],
        }
        for check in checks_selectors.checks_on(dataset.organization_id, impacted)
    ]
