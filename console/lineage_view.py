"""The dataset page's lineage: the lineage app's graph (lineage.graph) drawn as two nested trees.

Upstream: who feeds this dataset, and who feeds them. Downstream: who reads it, and so on. A
dataset reached twice (a diamond) is expanded once and then referred to, so the page grows with the
number of edges, not with the number of paths; a cycle stops where it comes back.
"""

from django.utils.html import format_html, format_html_join

from console.display import admin_url
from lineage.selectors import BOTH
from workflows.lineage import lineage_graph

DEPTH = 3
MAX_ITEMS = 300  # per tree: the page of a hub stays readable; the API answers the rest


def dataset_lineage(dataset, depth=DEPTH) -> dict:
    graph = lineage_graph(dataset=dataset, direction=BOTH, depth=depth)
    nodes = {node["key"]: node for node in graph["nodes"]}
    feeds_into: dict[int, list] = {}  # target -> [(source, pipelines)]
    reads_from: dict[int, list] = {}  # source -> [(target, pipelines)]
    for edge in graph["edges"]:
        feeds_into.setdefault(edge["target"], []).append((edge["source"], edge["pipelines"]))
        reads_from.setdefault(edge["source"], []).append((edge["target"], edge["pipelines"]))
    start = dataset.pk
    return {
        "upstream": _tree(start, feeds_into, nodes, depth),
        "downstream": _tree(start, reads_from, nodes, depth),
        "impact": graph["impact"] or {"datasets": [], "pipelines": [], "checks": []},
        "truncated": graph["truncated"],
        "node_count": len(nodes) - 1,
    }


def _tree(start, neighbours, nodes, depth):
    expanded = {start}
    budget = [MAX_ITEMS]

    def children(pk, level):
        items = []
        for other, pipelines in sorted(neighbours.get(pk, ()), key=lambda item: _label(nodes[item[0]])):
            if budget[0] <= 0:
                items.append({"more": True})
                break
            budget[0] -= 1
            seen = other in expanded
            expanded.add(other)
            items.append(
                {
                    "node": nodes[other],
                    "pipelines": pipelines,
                    "seen": seen,
                    "children": [] if seen or level >= depth else children(other, level + 1),
                }
            )
        return items

    return children(start, 1)


def _label(node) -> str:
    return f"{node['namespace']}/{node['dataset_id']}" if node["namespace"] else node["dataset_id"]


def render_tree(items, direction):
    """Nested <ul>: each dataset links to its page and names the pipelines on the edge."""
    if not items:
        return format_html('<p class="console-empty">{}</p>', f"No {direction} dataset.")
    return format_html('<ul class="lineage-tree" data-direction="{}">{}</ul>', direction, _items(items, direction))


def _items(items, direction):
    rendered = []
    for item in items:
        if item.get("more"):
            rendered.append(format_html('<li class="console-empty">{}</li>', f"… more than {MAX_ITEMS} datasets"))
            continue
        node = item["node"]
        url = admin_url("lineage_dataset_change", node["key"])
        name = format_html('<a href="{}">{}</a>', url, _label(node)) if url else _label(node)
        via = format_html('<span class="lineage-via">via {}</span>', ", ".join(item["pipelines"]))
        nested = format_html("<ul>{}</ul>", _items(item["children"], direction)) if item["children"] else ""
        seen = format_html('<span class="console-empty"> (shown above)</span>') if item["seen"] else ""
        rendered.append(format_html('<li><span class="lineage-node">{}</span>{} {}{}</li>', name, seen, via, nested))
    return format_html_join("", "{}", ((html,) for html in rendered))
