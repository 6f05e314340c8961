"""Retention purge benchmark on PostgreSQL: 1,000,000 rows of history purged in batches while the API answers.

1. (Re)creates the bench database, migrates it (the retention indexes are built CONCURRENTLY there),
   registers 10 pipelines for a free-plan organization ("bench", 30-day window) and bulk-loads with
   generate_series 700,000 runs (90 days of history, one in ten a DAG run whose next nine are its task
   runs; one in a thousand still running) and 300,000 check results pointing at them: 1,000,000 rows,
   about two thirds of them past the window.
2. Starts gunicorn (DEBUG off) on a free loopback port; one client reads
   GET /api/v1/pipelines/pipeline_000/runs (page 1, keep-alive) in a loop: BASELINE_SECONDS before the
   purge, then for as long as the purge runs.
3. Runs the purge (workflows.retention.purge_organization, the code the hourly task runs, its default
   5,000 rows a statement and 100 ms pause) in its own process, timing every SQL statement and every
   batch transaction (from its SELECT ... FOR UPDATE SKIP LOCKED to its COMMIT: the longest time any
   purged row stays locked).

Prints p50/p95 of the runs request before and during the purge and their ratio, rows purged per second
(with and without the pauses), the longest statement and the longest batch transaction.

Usage (about 3 minutes):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_retention \
        .venv/bin/python bench/retention_purge.py [--reuse]
--reuse keeps an already loaded database (only useful to re-measure the reads: a purged database has
nothing left to purge, so the figures need a fresh load).
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import catalog_runs
import psycopg
from catalog_runs import log, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dxp_bench_retention"
RUNS = 700_000
RESULTS = 300_000
PIPELINES = 10  # the free plan allows 10
HISTORY_DAYS = 90
BASELINE_SECONDS = float(os.environ.get("BENCH_BASELINE_SECONDS", "20"))
HOT_PATH = "/api/v1/pipelines/pipeline_000/runs"


def django_env(database_url):
    # The setup scripts run with `python -c`, which needs the settings module named.
    return {**catalog_runs.django_env(database_url), "DJANGO_SETTINGS_MODULE": "config.settings"}


SETUP_SCRIPT = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from workflows import pipeline_spec
from workflows.registration import register_pipeline
from orgs import services as org_services
from orgs.models import Plan
org = org_services.create_organization(slug="bench", name="Bench", plan=Plan.FREE)
_, key = org_services.create_api_key(organization=org, name="bench", role="read")
ids = []
for index in range(%(pipelines)d):
    name = f"pipeline_{index:03d}"
    spec = {"name": name, "version": "1", "sources": [{"id": f"{name}_src"}],
            "targets": [{"id": f"{name}_out", "inputs": [f"{name}_src"]}]}
    outcome = register_pipeline(organization=org, spec=pipeline_spec.parse(spec))
    ids.append([outcome.pipeline.pk, outcome.version.pk])
print(json.dumps({"org": org.pk, "key": key, "pipelines": ids}))
"""

KEY_SCRIPT = """
import django, json
django.setup()
from orgs import services as org_services
from orgs.models import Organization
_, key = org_services.create_api_key(organization=Organization.objects.get(slug="bench"), name="reuse", role="read")
print(json.dumps({"key": key}))
"""

PURGE_SCRIPT = """
import django, json, statistics, time
django.setup()
from django.db import connection
from orgs.models import Organization
from workflows import retention

statements, batches = [], []
state = {"batch_started": None, "paused": 0.0}

def close_batch(at):
    if state["batch_started"] is not None:
        batches.append(at - state["batch_started"])
        state["batch_started"] = None

def timed(execute, sql, params, many, context):
    t0 = time.perf_counter()
    if sql.startswith("SELECT") and "FOR UPDATE" in sql:
        # A batch opens its transaction with this; the previous one has committed by now.
        close_batch(t0)
        state["batch_started"] = t0
    try:
        return execute(sql, params, many, context)
    finally:
        statements.append((sql.split(None, 1)[0], time.perf_counter() - t0))

def pause(seconds):
    close_batch(time.perf_counter())  # called once the batch committed (its deferred foreign-key checks included)
    state["paused"] += seconds
    time.sleep(seconds)

organization = Organization.objects.get(slug="bench")
print("purge-start", flush=True)
started = time.perf_counter()
with connection.execute_wrapper(timed):
    outcome = retention.purge_organization(organization, sleep=pause)
close_batch(time.perf_counter())
wall = time.perf_counter() - started
paused = state["paused"]
by_kind = {}
for kind, seconds in statements:
    by_kind.setdefault(kind, []).append(seconds)
print(json.dumps({
    "counts": outcome.counts, "total": outcome.total, "wall": wall, "paused": paused,
    "batches": len(batches), "longest_batch": max(batches, default=0),
    "p50_batch": statistics.median(batches) if batches else 0,
    "longest_statement": {kind: max(values) for kind, values in by_kind.items()},
    "statements": {kind: len(values) for kind, values in by_kind.items()},
}), flush=True)
"""


def run_python(database_url, script):
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=django_env(database_url), capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def load(database_url):
    t0 = time.perf_counter()
    recreate_database(database_url)
    state = run_python(database_url, SETUP_SCRIPT % {"pipelines": PIPELINES})
    log(f"migrated and registered {PIPELINES} pipelines in {time.perf_counter() - t0:.1f}s")
    t1 = time.perf_counter()
    params = {
        "org": state["org"],
        "pipelines": [p for p, _ in state["pipelines"]],
        "versions": [v for _, v in state["pipelines"]],
        "n": PIPELINES,
        "runs": RUNS,
        "results": RESULTS,
        "days": HISTORY_DAYS,
    }
    with psycopg.connect(database_url) as conn:
        # Run g (id g) at now - 90 days + g steps: the oldest first. Every tenth is a DAG run, the next nine its
        # task runs (parent_id); one in a thousand is still running (never purged, however old).
        conn.execute(
            """
            INSERT INTO catalog_run (id, organization_id, pipeline_id, pipeline_version_id, run_id, status,
                                     started_at, finished_at, attributes, created_at, updated_at, parent_id)
            OVERRIDING SYSTEM VALUE
            SELECT g, %(org)s, (%(pipelines)s::bigint[])[1 + g %% %(n)s], (%(versions)s::bigint[])[1 + g %% %(n)s],
                   'bench-' || g,
                   CASE WHEN g %% 1000 = 7 THEN 'running' WHEN g %% 20 = 3 THEN 'failed' ELSE 'success' END,
                   ts, CASE WHEN g %% 1000 = 7 THEN NULL ELSE ts + interval '5 minutes' END, '{}'::jsonb,
                   ts, ts + interval '5 minutes', CASE WHEN g %% 10 = 0 THEN NULL ELSE g - g %% 10 END
            FROM (
                SELECT g,
                       now() - make_interval(days => %(days)s) + g * (make_interval(days => %(days)s) / %(runs)s) AS ts
                FROM generate_series(10, %(runs)s + 9) AS g
            ) AS runs
            """,
            params,
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('catalog_run', 'id'), (SELECT max(id) FROM catalog_run))")
        conn.execute(
            """
            INSERT INTO checks_checkresult (organization_id, result_id, check_id, pipeline_id, run_id, connection_id,
                                            status, threshold, severity, sql, executed_at, error_message, created_at)
            SELECT r.organization_id, 'result-' || r.id, 'not_null', r.pipeline_id, r.id, '',
                   CASE WHEN r.id %% 17 = 0 THEN 'fail' ELSE 'pass' END, 0, 'error', '', r.updated_at, '', r.updated_at
            FROM catalog_run r
            WHERE r.id %% 7 IN (0, 3, 5)
            ORDER BY r.id
            LIMIT %(results)s
            """,
            params,
        )
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE catalog_run")
        conn.execute("VACUUM ANALYZE checks_checkresult")
        runs = conn.execute("SELECT count(*) FROM catalog_run").fetchone()[0]
        results = conn.execute("SELECT count(*) FROM checks_checkresult").fetchone()[0]
    elapsed = time.perf_counter() - t1
    log(f"bulk-loaded {runs:,} runs + {results:,} check results = {runs + results:,} rows in {elapsed:.1f}s")
    return state


class Reader(threading.Thread):
    """Reads the hot pipeline's runs in a loop; each timing is tagged with the phase it started in."""

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"X-API-KEY": key}
        self.phase = "warm"
        self.timings = {"warm": [], "before": [], "during": [], "after": []}
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            phase = self.phase
            t0 = time.perf_counter()
            self.conn.request("GET", HOT_PATH, headers=self.headers)
            response = self.conn.getresponse()
            response.read()
            self.timings[phase].append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                self.errors += 1


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep the already loaded bench database")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    started = time.perf_counter()
    state = run_python(database_url, KEY_SCRIPT) if args.reuse else load(database_url)
    server, port = catalog_runs.start_server(database_url, default_workers="2")
    try:
        reader = Reader(port, state["key"])
        reader.start()
        time.sleep(2)
        reader.phase = "before"
        time.sleep(BASELINE_SECONDS)
        purge = subprocess.Popen(
            [sys.executable, "-c", PURGE_SCRIPT],
            cwd=ROOT,
            env=django_env(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        purge.stdout.readline()  # "purge-start": django set up, the first batch is next
        reader.phase = "during"
        output, errors = purge.communicate()
        reader.phase = "after"
        reader.stop.set()
        reader.join(timeout=30)
        if purge.returncode:
            raise SystemExit(errors[-3000:])
        figures = json.loads(output.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)

    before, during = reader.timings["before"], reader.timings["during"]
    p50b, p95b, p50d, p95d = (
        statistics.median(before),
        percentile(before, 0.95),
        statistics.median(during),
        percentile(during, 0.95),
    )
    total, wall, paused = figures["total"], figures["wall"], figures["paused"]
    log(f"purged {total:,} rows {figures['counts']} in {wall:.1f}s, {figures['batches']} batches")
    log(f"rows purged per second: {total / wall:,.0f} (with the pauses), {total / (wall - paused):,.0f} (without)")
    log(
        f"batch transaction (locks held): p50 {figures['p50_batch'] * 1000:.0f} ms, "
        f"longest {figures['longest_batch'] * 1000:.0f} ms"
    )
    longest = ", ".join(f"{kind} {seconds * 1000:.0f} ms" for kind, seconds in figures["longest_statement"].items())
    log(f"longest statement by kind: {longest}; statements: {figures['statements']}")
    log(
        f"GET {HOT_PATH}: before the purge p50 {p50b:.2f} ms p95 {p95b:.2f} ms ({len(before)} requests); "
        f"during p50 {p50d:.2f} ms p95 {p95d:.2f} ms ({len(during)} requests); "
        f"ratio during/before p50 {p50d / p50b:.2f}x p95 {p95d / p95b:.2f}x; non-200 answers {reader.errors}"
    )
    log(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
