"""Human-readable output for the CLI (the `--json` flag bypasses all of this)."""


def _label(node: dict) -> str:
    where = " ".join(part for part in (node.get("connection_id"), node.get("table")) if part)
    name = node["dataset_id"] if not node.get("namespace") else f"{node['namespace']}/{node['dataset_id']}"
    return f"{name} ({where})" if where else name


def lineage_tree(graph: dict) -> str:
    nodes = {node["key"]: node for node in graph.get("nodes", [])}
    root = graph["dataset"]["key"]
    nodes.setdefault(root, graph["dataset"])
    downstream, upstream = {}, {}
    for edge in graph.get("edges", []):
        downstream.setdefault(edge["source"], []).append((edge["target"], edge.get("pipelines", [])))
        upstream.setdefault(edge["target"], []).append((edge["source"], edge.get("pipelines", [])))

    lines = [_label(nodes[root])]

    def walk(key, neighbours, prefix, path):
        children = sorted(neighbours.get(key, []), key=lambda item: nodes.get(item[0], {}).get("dataset_id", ""))
        for index, (child, pipelines) in enumerate(children):
            last = index == len(children) - 1
            via = f"  [{', '.join(pipelines)}]" if pipelines else ""
            cycle = "  (cycle)" if child in path else ""
            node = nodes.get(child, {"dataset_id": f"#{child}"})
            lines.append(f"{prefix}{'└── ' if last else '├── '}{_label(node)}{via}{cycle}")
            if not cycle:
                walk(child, neighbours, prefix + ("    " if last else "│   "), path | {child})

    for title, neighbours in (("upstream", upstream), ("downstream", downstream)):
        if neighbours.get(root):
            lines.append(f"{title}:")
            walk(root, neighbours, "  ", {root})
    if graph.get("truncated"):
        lines.append("(truncated: the walk reached too many datasets; lower --depth)")
    return "\n".join(lines)


def check_result_line(result: dict) -> str:
    violations = result.get("violations")
    shown = "-" if violations is None else f"{violations:g}"
    line = (
        f"{result.get('status', '?'):6} {result.get('severity') or '-':5} {result.get('check_id')}"
        f"  violations={shown} threshold={result.get('threshold')}"
        f"  run={result.get('run_id') or '-'}  result={result.get('result_id')}  at={result.get('executed_at')}"
    )
    if result.get("error_message"):
        line += f"\n       {result['error_message'].splitlines()[0]}"
    return line


def run_line(run: dict) -> str:
    return f"{run.get('run_id')}  {run.get('pipeline_id')}  {run.get('status')}  started={run.get('started_at')}"


def api_error(body) -> str:
    """Field messages of a 400 as `field: message` lines; anything else as it came."""
    if isinstance(body, dict):
        lines = []
        for field, messages in body.items():
            if isinstance(messages, list):
                messages = "; ".join(str(message) for message in messages)
            lines.append(f"  {field}: {messages}")
        return "\n".join(lines)
    return f"  {body}"
