"""Benchmark: the latency a quick check adds when it runs through the queue (RabbitMQ and an idle Celery
worker) rather than in the web request, and the SQL statements of each path; written to
docs/benchmarks-queue-latency.md (issue 12: goal under 10 ms added at p50).

In one run, interleaved request by request, `POST /api/v1/checks/execute` (`wait_seconds` 20: 201 with the
result) of `SELECT COUNT(*) AS violations FROM orders WHERE amount < 0` (1,000 rows, the local PostgreSQL
warehouse through the allow-list and a least-privilege role) on:

- "queue": a gunicorn node with CHECK_EXECUTION_BACKEND=celery and one `celery -A config worker` node;
- "inline": a gunicorn node with CHECK_EXECUTION_BACKEND=inline (the same bookkeeping, run in the request);
- "before" (with --before-tree DIR): a gunicorn node on an older checkout, e.g. the code before executions
  were queued (`git archive <commit> | tar -x -C DIR`).

It also splits each queued request by the execution's own timestamps (asked for -> started on the worker ->
finished -> answered) and counts the SQL statements of each path in-process (Django's execute wrappers, per
thread): the web request's and the worker's for the queue (the in-process pool stands for the worker), the
request's alone for inline.

Usage (PostgreSQL on 127.0.0.1:5432 with trust auth, RabbitMQ on 127.0.0.1:5672):
    .venv/bin/python bench/check_queue_latency.py [--rounds 200] [--before-tree DIR]
Traffic goes only to 127.0.0.1; every loop is bounded.
"""

import argparse
import json
import subprocess
import time
from pathlib import Path

import psycopg
from scale_out import (
    CATALOG_DSN,
    PYTHON,
    QUICK_SQL,
    ROOT,
    Processes,
    begin,
    delete_queue,
    free_port,
    latency_by_path,
    log,
    percentile,
    start_web,
    start_workers,
    wait_until_idle,
)

# Runs in `manage.py shell` on a path's code: counts the statements of one request per thread.
STATEMENT_COUNT_SCRIPT = """
import json, os, threading
from collections import Counter
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import Client
from django.test.utils import override_settings

counts = Counter()

def count(execute, sql, params, many, context):
    counts[threading.current_thread().name.split("_")[0]] += 1
    return execute(sql, params, many, context)

def wrap(sender, connection, **kwargs):
    # A thread's connection object outlives its reconnections: one wrapper each.
    if count not in connection.execute_wrappers:
        connection.execute_wrappers.append(count)

connection_created.connect(wrap)
connection.ensure_connection()
wrap(None, connection)
client = Client(HTTP_HOST="127.0.0.1", HTTP_X_API_KEY=os.environ["BENCH_KEY"])
figures = {}
for name, backend in (("inline", "inline"), ("queue", "threads")):
    with override_settings(CHECK_EXECUTION_BACKEND=backend):
        for index in range(6):
            counts.clear()
            body = {"connection_id": "wh", "sql": os.environ["BENCH_SQL"], "check_id": f"count-{name}-{index}",
                    "wait_seconds": 20}
            response = client.post("/api/v1/checks/execute", body, content_type="application/json")
            assert response.status_code == 201, response.content
        figures[name] = dict(counts)
print("COUNTS " + json.dumps(figures))
"""


def statement_counts(env: dict, key: str, cwd: Path) -> dict:
    """Statements of the sixth request (connections and caches warm) per thread: MainThread is the web
    request, check-execution the worker's part (the in-process pool runs the worker's code)."""
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", STATEMENT_COUNT_SCRIPT],
        cwd=cwd,
        env={**env, "BENCH_KEY": key, "BENCH_SQL": QUICK_SQL, "CHECK_EXECUTION_BACKEND": "threads"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads([line for line in output.splitlines() if line.startswith("COUNTS ")][-1][7:])


def queue_phases() -> dict:
    """Medians of the queued executions' own timestamps: where the queue's time goes."""
    with psycopg.connect(CATALOG_DSN, autocommit=True) as catalog:
        rows = catalog.execute(
            """SELECT extract(epoch FROM started_at - created_at) * 1000,
                      extract(epoch FROM finished_at - started_at) * 1000
               FROM checks_checkexecution WHERE check_id LIKE 'latency-queue-%' AND started_at IS NOT NULL"""
        ).fetchall()
    return {
        "asked_to_started_p50_ms": round(percentile([float(r[0]) for r in rows], 0.5), 2),
        "started_to_finished_p50_ms": round(percentile([float(r[1]) for r in rows], 0.5), 2),
    }


def write_report(report: dict) -> None:
    (ROOT / "docs" / "benchmarks-queue-latency.json").write_text(json.dumps(report, indent=2) + "\n")
    latency, counts = report["latency"], report["statements"]
    names = {
        "before": f"In the request, {report['args']['before_label']} (`--before-tree`)",
        "inline": "In the request with the execution bookkeeping (`CHECK_EXECUTION_BACKEND=inline`)",
        "queue": "Through RabbitMQ and an idle worker",
    }
    lines = [
        "## Added latency of a quick check through the queue (bench/check_queue_latency.py)",
        "",
        f"Generated on {report['generated_at']} in {report['total_seconds']} s (load average "
        f"{report['load_average']} at the start). `{QUICK_SQL}` on 1,000 rows of the local PostgreSQL warehouse, "
        f"{report['args']['rounds']} requests per path, interleaved, `wait_seconds` 20 (201 with the result), one "
        "gunicorn node per path (2 workers x 4 threads), PostgreSQL catalog; one Celery worker node "
        f"({report['args']['pool']} pool of {report['args']['worker_threads']}) on RabbitMQ.",
        "",
        "| Path | p50 | p95 | SQL statements (web request + worker) |",
        "|---|---|---|---|",
    ]
    for name in ("before", "inline", "queue"):
        if name in latency:
            c = counts.get(name, {})
            web, worker = c.get("MainThread", 0), c.get("check-execution", 0)
            statements = f"{web} + {worker}" if worker else f"{web}"
            lines.append(
                f"| {names[name]} | {latency[name]['p50_ms']} ms | {latency[name]['p95_ms']} ms | {statements} |"
            )
    for reference in ("inline", "before"):
        if reference in latency:
            p50 = round(latency["queue"]["p50_ms"] - latency[reference]["p50_ms"], 2)
            p95 = round(latency["queue"]["p95_ms"] - latency[reference]["p95_ms"], 2)
            ratio = latency["queue"]["p50_ms"] / latency[reference]["p50_ms"]
            lines.append(f"| **Added: queue - {reference}** | **{p50:+} ms** ({ratio:.2f}x) | **{p95:+} ms** | |")
    phases = report["queue_phases"]
    lines += [
        "",
        f"Queued requests, medians: asked for -> started on the worker {phases['asked_to_started_p50_ms']} ms, "
        f"started -> result recorded {phases['started_to_finished_p50_ms']} ms.",
        "",
    ]
    (ROOT / "docs" / "benchmarks-queue-latency.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--worker-threads", type=int, default=4, help="the worker's pool size")
    parser.add_argument("--pool", choices=["prefork", "threads"], default="prefork")
    parser.add_argument("--before-tree", help="an older checkout whose in-process path is a second reference")
    parser.add_argument("--before-label", default="an older checkout")
    parser.add_argument(
        "--before-env", action="append", default=[], help="NAME=VALUE for the older checkout's gunicorn node"
    )
    parser.add_argument("--fresh", action="store_true", help="drop and re-migrate the catalog database")
    args = parser.parse_args()
    args.rounds = max(10, min(args.rounds, 2000))
    started = time.monotonic()
    report, queue, env, keys = begin(args, "latency")
    key = keys["quiet-1"]
    processes = Processes()
    try:
        paths = {"queue": start_web(processes, env, free_port(), "latency-queue")}
        paths["inline"] = start_web(processes, env, free_port(), "latency-inline", CHECK_EXECUTION_BACKEND="inline")
        if args.before_tree:
            extra = dict(pair.split("=", 1) for pair in args.before_env)
            paths["before"] = start_web(processes, env, free_port(), "latency-before", cwd=args.before_tree, **extra)
        # prefork (child processes) is the production default (docker-compose.yml)
        start_workers(processes, env, 1, args.worker_threads, queue, pool=args.pool)
        wait_until_idle()
        log("latency: interleaved requests")
        report["latency"] = latency_by_path(paths, key, args.rounds)
        report["queue_phases"] = queue_phases()
    finally:
        processes.stop_all()
        delete_queue(queue)
    log("statement counts")
    report["statements"] = statement_counts(env, key, ROOT)
    if args.before_tree:
        before = statement_counts(env, key, Path(args.before_tree))
        # The older checkout's requests in the path its node ran (inline unless told otherwise).
        report["statements"]["before"] = before.get("queue" if "threads" in str(args.before_env) else "inline", {})
    report["total_seconds"] = round(time.monotonic() - started)
    write_report(report)
    print((ROOT / "docs" / "benchmarks-queue-latency.md").read_text())


if __name__ == "__main__":
    main()
