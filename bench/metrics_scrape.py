"""Benchmark: what a /metrics scrape costs in check execution metrics, against the previous way (one
aggregate over every execution's latency), with --rows finished executions in the table, same run.

Usage (PostgreSQL on 127.0.0.1:5432 with trust auth; uses the scale-out bench's catalog database):
    .venv/bin/python bench/metrics_scrape.py [--rows 100000] [--scrapes 30]
The rows it adds are removed at the end. Every loop is bounded.
"""

import argparse
import subprocess
import sys

from scale_out import PYTHON, ROOT, base_env, setup_catalog

SCRIPT = """
import statistics, time
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from checks.metrics import CheckExecutionCollector
from checks.models import LATENCY_BUCKETS, CheckExecution

ROWS, SCRAPES = {rows}, {scrapes}
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO checks_checkexecution (organization_id, execution_id, check_id, connection_id, request, state,"
        " error_kind, error_message, created_at, finished_at, latency_ms)"
        " SELECT (SELECT min(id) FROM orgs_organization), 'exe-bench' || lpad(to_hex(g), 16, '0'), 'bench', 'wh',"
        " '{{}}', 'done', '', '', now(), now(), mod(g, 5000)::float FROM generate_series(1, %s) g",
        [ROWS],
    )
    cursor.execute("ANALYZE checks_checkexecution")


def previous():
    # What checks/metrics.py ran before: by state over every row, and the histogram over every finished one.
    executions = CheckExecution.objects.unscoped()
    dict(executions.values_list("state").annotate(n=Count("id")).order_by())
    executions.filter(latency_ms__isnull=False).aggregate(
        count=Count("id"), total=Sum("latency_ms"),
        **{{f"le_{{n}}": Count("id", filter=Q(latency_ms__lte=b * 1000)) for n, b in enumerate(LATENCY_BUCKETS)}},
    )


def now():
    list(CheckExecutionCollector().collect())


try:
    figures = {{}}
    for name, scrape in (("previous", previous), ("now", now), ("previous", previous), ("now", now)):
        samples = []
        for _ in range(SCRAPES):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                scrape()
            samples.append((time.perf_counter() - started) * 1000)
        figures[name] = (statistics.median(samples), len(captured.captured_queries))
    for name, (p50, queries) in figures.items():
        print(f"{{name}}: p50 {{p50:.2f}} ms, {{queries}} queries, {{ROWS}} finished executions in the table")
    print(f"ratio now / previous: {{figures['now'][0] / figures['previous'][0]:.3f}}")
finally:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM checks_checkexecution WHERE execution_id LIKE 'exe-bench%%'")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=30)
    args = parser.parse_args()
    rows, scrapes = max(0, min(args.rows, 2_000_000)), max(1, min(args.scrapes, 500))
    env = base_env("metrics-bench")
    setup_catalog(env)  # migrates the catalog database and creates the organizations
    script = SCRIPT.format(rows=rows, scrapes=scrapes)
    subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, stdout=sys.stdout)


if __name__ == "__main__":
    main()
