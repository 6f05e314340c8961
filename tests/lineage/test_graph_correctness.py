"""The recursive SQL walk against a straightforward breadth-first search, on generated graphs with cycles."""

import random
from collections import deque

import pytest

from lineage.models import LineageEdge
from tests.lineage.factories import make_dataset, make_pipeline

NODES = 70
EDGES = 220


def bfs(adjacency: dict[int, set[int]], start: int, depth: int) -> dict[int, int]:
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if seen[node] == depth:
            continue
        for neighbour in adjacency.get(node, ()):
            if neighbour not in seen:
                seen[neighbour] = seen[node] + 1
                queue.append(neighbour)
    return seen


@pytest.fixture
def random_graph(org_a):
    """A random multigraph: hubs, self-loops, parallel edges of two pipelines, and many cycles."""
    rng = random.Random(20261126)
    pipelines = [make_pipeline(org_a, f"p{i}") for i in range(4)]
    datasets = [make_dataset(org_a, f"ds.{i}") for i in range(NODES)]
    hubs = datasets[:5]
    pairs = set()
    while len(pairs) < EDGES:
        source = rng.choice(hubs) if rng.random() < 0.2 else rng.choice(datasets)
        target = rng.choice(datasets)
        pairs.add((source.pk, target.pk, rng.choice(pipelines).pk))
    LineageEdge.objects.bulk_create(
        LineageEdge(organization=org_a, source_id=s, target_id=t, pipeline_id=p) for s, t, p in pairs
    )
    down, up = {}, {}
    for source, target, _ in pairs:
        down.setdefault(source, set()).add(target)
        up.setdefault(target, set()).add(source)
    names = {d.pk: d.dataset_id for d in datasets}
    return {"down": down, "up": up, "pairs": pairs, "names": names, "rng": rng}


def test_walks_match_breadth_first_search(client_a, random_graph):
    names = random_graph["names"]
    rng = random_graph["rng"]
    starts = [*rng.sample(sorted(names), 12), min(names)]  # min(names) is a hub
    checked = 0
    for start in starts:
        for depth in (0, 1, 2, 3, 5, 20):
            answer = client_a.get(f"/api/v1/lineage/{names[start]}", {"depth": depth}).json()
            expected_down = bfs(random_graph["down"], start, depth)
            expected_up = bfs(random_graph["up"], start, depth)
            got_down = {n["key"]: n["downstream_depth"] for n in answer["nodes"] if n["downstream_depth"] is not None}
            got_up = {n["key"]: n["upstream_depth"] for n in answer["nodes"] if n["upstream_depth"] is not None}
            assert got_down == expected_down, (names[start], depth)
            assert got_up == expected_up, (names[start], depth)
            assert {n["key"] for n in answer["nodes"]} == set(expected_down) | set(expected_up)

            # Edges: every edge leaving a downstream node short of the bound, every edge entering an
            # upstream node short of the bound.
            expected_edges = {
                (s, t)
                for s, t, _ in random_graph["pairs"]
                if (s in expected_down and expected_down[s] < depth) or (t in expected_up and expected_up[t] < depth)
            }
            assert {(e["source"], e["target"]) for e in answer["edges"]} == expected_edges
            assert answer["truncated"] is False
            checked += 1
    assert checked == len(starts) * 6


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_pipelines_per_node_match_the_edge_table(client_a, org_a, random_graph, depth):
    """read_by / written_by come partly from the walked edges, partly from lookups: both must agree."""
    names = random_graph["names"]
    pipeline_names = {p.pk: p.name for p in org_a.pipelines.all()}
    for start in (min(names), max(names)):
        answer = client_a.get(f"/api/v1/lineage/{names[start]}", {"depth": depth}).json()
        for node in answer["nodes"]:
            readers = {pipeline_names[p] for s, _, p in random_graph["pairs"] if s == node["key"]}
            writers = {pipeline_names[p] for _, t, p in random_graph["pairs"] if t == node["key"]}
            assert set(node["read_by"]) == readers, (depth, node["dataset_id"])
            assert set(node["written_by"]) == writers, (depth, node["dataset_id"])
        if answer["impact"] is not None:
            downstream = {n["key"] for n in answer["nodes"] if n["downstream_depth"] is not None}
            expected = {pipeline_names[p] for s, _, p in random_graph["pairs"] if s in downstream}
            assert answer["impact"]["pipelines"] == sorted(expected)


def test_capped_pipeline_lists_say_so_and_impact_stays_complete(client_a, org_a, random_graph, monkeypatch):
    from lineage import selectors

    monkeypatch.setattr(selectors, "PIPELINES_PER_NODE", 1)
    names = random_graph["names"]
    pipeline_names = {p.pk: p.name for p in org_a.pipelines.all()}
    answer = client_a.get(f"/api/v1/lineage/{names[min(names)]}", {"depth": 2}).json()
    for node in answer["nodes"]:
        readers = {pipeline_names[p] for s, _, p in random_graph["pairs"] if s == node["key"]}
        assert set(node["read_by"]) <= readers and len(node["read_by"]) == min(1, len(readers))
        assert node["read_by_truncated"] == (len(readers) > 1)
    downstream = {n["key"] for n in answer["nodes"] if n["downstream_depth"] is not None}
    expected = {pipeline_names[p] for s, _, p in random_graph["pairs"] if s in downstream}
    assert answer["impact"]["pipelines"] == sorted(expected)
