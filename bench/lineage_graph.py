"""Lineage walk benchmark: 1,000,000 edges on PostgreSQL, through the real API under gunicorn,
against a Marquez-style array-overlap recursive query over the same graph.

Run (about 5-8 minutes; see docs/benchmarks-lineage.md):

    /work/main/.venv/bin/python bench/lineage_graph.py [--reuse] [--samples 60]

It creates (or, with --reuse, keeps) the database named by BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/dxp_bench_lineage), migrates it, bulk-loads the graph
with generate_series, starts gunicorn on a free 127.0.0.1 port, times GET /api/v1/lineage/{id}
at depth 1, 3 and 5, then times Marquez's LineageDao.getLineage query shape (job_io arrays built
from jobs / job_versions / job_versions_io_mapping, recursion on array overlap `&&`) with a
statement_timeout cap.

The graph: 100,000 jobs (pipelines), each writing 3 datasets (300,000 datasets) and reading a
skewed number of inputs (1 + exponential, mean ~3.6, at most 12): 90% from recently produced
datasets (exponential look-back) and 10% from 1,000 "core" tables (hubs with high fan-out), plus
0.1% back-edges that close cycles. Each job contributes inputs x outputs edges; the edge table is
cut at exactly 1,000,000.
"""

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dxp_bench_lineage")
JOBS = 100_000
OUTPUTS_PER_JOB = 3
DATASETS = JOBS * OUTPUTS_PER_JOB
EDGES = 1_000_000
HUBS = 1_000
MARQUEZ_TIMEOUT_S = 30


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def admin_dsn(url):
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/")


def create_database(reuse):
    dsn, name = admin_dsn(BENCH_URL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return False
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def django_env(**extra):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=BENCH_URL,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATAXPIPE_THROTTLE_RATE="1000000/min",
        METRICS_ENABLED="0",
    )
    env.update(extra)
    return env


MAKE_ORG_AND_KEY = """
from orgs import services
from orgs.models import Organization
org = Organization.objects.filter(slug="bench-lineage").first() or services.create_organization(
    slug="bench-lineage", plan="enterprise")
_, key = services.create_api_key(organization=org, name="bench", role="read")
print(org.pk, key)
"""


def org_and_key():
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", MAKE_ORG_AND_KEY],
        cwd=ROOT,
        env=django_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[-2]), out[-1]


LOAD_SQL = [
    # Pipelines (OpenLineage jobs) and datasets.
    """INSERT INTO catalog_pipeline (organization_id, name, owner, description, schedule, tags, is_external,
                                     created_at, updated_at)
       SELECT %(org)s, 'job_' || g, '', '', '', '[]'::jsonb, true, now(), now() FROM generate_series(1, %(jobs)s) g""",
    """INSERT INTO lineage_dataset (organization_id, dataset_id, namespace, connection_id, "table", created_at)
       SELECT %(org)s, 'warehouse.schema_' || (g %% 50) || '.table_' || g, '', 'bq-prod', '', now()
       FROM generate_series(1, %(datasets)s) g""",
    """CREATE TABLE bench_ds AS SELECT id, split_part(dataset_id, '.table_', 2)::int AS g FROM lineage_dataset
       WHERE organization_id = %(org)s""",
    """CREATE TABLE bench_job AS SELECT id, substr(name, 5)::int AS j FROM catalog_pipeline
       WHERE organization_id = %(org)s AND name LIKE 'job\\_%%'""",
    "CREATE UNIQUE INDEX ON bench_ds (g)",
    "CREATE UNIQUE INDEX ON bench_job (j)",
    # Job j writes datasets 3j-2 .. 3j; reads 1 + Exp inputs, from recent outputs or from the hubs.
    """CREATE TABLE bench_job_io AS
       WITH n AS (
         SELECT j, least(12, 1 + floor(-ln(1 - random()) * 3.1))::int AS n_in FROM generate_series(1, %(jobs)s) j
       ), picks AS (
         SELECT n.j, CASE
             WHEN random() < 0.001 THEN 1 + floor(random() * %(datasets)s)::int           -- back-edge: a cycle
             WHEN n.j <= 1000 OR random() < 0.10 THEN 1 + floor(random() * %(hubs)s)::int -- a core table
             ELSE greatest(1, 3 * (n.j - 1) - floor(-ln(1 - random()) * 3000)::int)       -- recent upstream
           END AS g
         FROM n, generate_series(1, n.n_in)
       )
       SELECT DISTINCT j, 'INPUT'::text AS io_type, g FROM picks
       UNION ALL
       SELECT j, 'OUTPUT', 3 * (j - 1) + o FROM generate_series(1, %(jobs)s) j, generate_series(1, 3) o""",
    "CREATE INDEX ON bench_job_io (j, io_type)",
    """INSERT INTO lineage_lineageedge (organization_id, source_id, target_id, pipeline_id, created_at)
       SELECT %(org)s, s.id, t.id, p.id, now()
       FROM bench_job_io i
       JOIN bench_job_io o ON o.j = i.j AND o.io_type = 'OUTPUT'
       JOIN bench_ds s ON s.g = i.g
       JOIN bench_ds t ON t.g = o.g
       JOIN bench_job p ON p.j = i.j
       WHERE i.io_type = 'INPUT' AND i.g <> o.g
       ORDER BY i.j, i.g, o.g
       LIMIT %(edges)s
       ON CONFLICT DO NOTHING""",
    # Marquez's tables, same graph: jobs -> current job version -> io mapping.
    """CREATE TABLE marquez_jobs AS SELECT p.id AS uuid, p.id AS current_version_uuid FROM bench_job p
       WHERE EXISTS (SELECT 1 FROM lineage_lineageedge e WHERE e.pipeline_id = p.id)""",
    "ALTER TABLE marquez_jobs ADD PRIMARY KEY (uuid)",
    """CREATE TABLE marquez_job_versions_io_mapping AS
       SELECT DISTINCT e.pipeline_id AS job_version_uuid, e.source_id AS dataset_uuid, 'INPUT'::text AS io_type
       FROM lineage_lineageedge e WHERE e.organization_id = %(org)s
       UNION
       SELECT DISTINCT e.pipeline_id, e.target_id, 'OUTPUT' FROM lineage_lineageedge e
       WHERE e.organization_id = %(org)s""",
    "ALTER TABLE marquez_job_versions_io_mapping ADD PRIMARY KEY (job_version_uuid, dataset_uuid, io_type)",
    "CREATE INDEX ON marquez_job_versions_io_mapping (dataset_uuid)",
    "CREATE TABLE marquez_job_versions AS SELECT current_version_uuid AS uuid FROM marquez_jobs",
    "ALTER TABLE marquez_job_versions ADD PRIMARY KEY (uuid)",
    "VACUUM ANALYZE",
]

# Marquez's LineageDao.getLineage shape (api/src/main/java/marquez/db/LineageDao.java), bigint ids for uuids.
MARQUEZ_SQL = """
WITH RECURSIVE
  job_io AS (
    SELECT j.uuid AS job_uuid,
      ARRAY_AGG(DISTINCT io.dataset_uuid) FILTER (WHERE io_type = 'INPUT') AS inputs,
      ARRAY_AGG(DISTINCT io.dataset_uuid) FILTER (WHERE io_type = 'OUTPUT') AS outputs
    FROM marquez_jobs j
    LEFT JOIN marquez_job_versions v ON j.current_version_uuid = v.uuid
    LEFT JOIN marquez_job_versions_io_mapping io ON v.uuid = io.job_version_uuid
    GROUP BY j.uuid
  ),
  lineage(job_uuid, inputs, outputs) AS (
    SELECT job_uuid, inputs, outputs, 0 AS depth FROM job_io WHERE job_uuid IN (%s)
    UNION
    SELECT io.job_uuid, io.inputs, io.outputs, l.depth + 1
    FROM job_io io, lineage l
    WHERE io.job_uuid != l.job_uuid
      AND array_cat(io.inputs, io.outputs) && array_cat(l.inputs, l.outputs)
      AND depth < %s
  )
SELECT count(DISTINCT job_uuid) FROM lineage
"""


def load(org):
    params = {"org": org, "jobs": JOBS, "datasets": DATASETS, "edges": EDGES, "hubs": HUBS}
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.42)")
        for statement in LOAD_SQL:
            started = time.perf_counter()
            conn.execute(statement, params if "%(" in statement else None)
            log(f"  {time.perf_counter() - started:6.1f}s  {' '.join(statement.split())[:90]}")


def graph_size(org):
    with psycopg.connect(BENCH_URL) as conn:
        edges = conn.execute("SELECT count(*) FROM lineage_lineageedge WHERE organization_id = %s", [org]).fetchone()[0]
        datasets = conn.execute("SELECT count(*) FROM lineage_dataset WHERE organization_id = %s", [org]).fetchone()[0]
        fan_out = conn.execute(
            "SELECT max(c), percentile_disc(0.5) WITHIN GROUP (ORDER BY c) FROM "
            "(SELECT count(*) c FROM lineage_lineageedge WHERE organization_id = %s GROUP BY source_id) x",
            [org],
        ).fetchone()
        fan_in = conn.execute(
            "SELECT max(c), percentile_disc(0.5) WITHIN GROUP (ORDER BY c) FROM "
            "(SELECT count(*) c FROM lineage_lineageedge WHERE organization_id = %s GROUP BY target_id) x",
            [org],
        ).fetchone()
    return edges, datasets, fan_out, fan_in


def pick_starts(org, count):
    """Datasets in the middle of the graph (both upstream and downstream exist), with their writer job."""
    rng = random.Random(7)
    with psycopg.connect(BENCH_URL) as conn:
        rows = conn.execute(
            """SELECT d.id, d.dataset_id, min(e.pipeline_id) FROM lineage_dataset d
               JOIN bench_ds b ON b.id = d.id
               JOIN lineage_lineageedge e ON e.target_id = d.id
               WHERE d.organization_id = %s AND b.g BETWEEN 30000 AND 270000
                 AND EXISTS (SELECT 1 FROM lineage_lineageedge o WHERE o.source_id = d.id)
               GROUP BY d.id, d.dataset_id""",
            [org],
        ).fetchall()
    return rng.sample(rows, count)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port):
    env = django_env(
        GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="2", GUNICORN_ACCESS_LOG="/dev/null"
    )
    gunicorn = str(Path(PYTHON).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    stop_gunicorn(process)
    raise SystemExit("gunicorn did not start")


def stop_gunicorn(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_api(port, key, starts, depth, direction):
    session = requests.Session()
    session.headers["X-API-KEY"] = key
    base = f"http://127.0.0.1:{port}/api/v1/lineage/"
    timings, sizes = [], []
    for _, dataset_id, _ in starts[:3]:  # warm-up
        session.get(base + quote(dataset_id), params={"depth": depth, "direction": direction}, timeout=60)
    for _, dataset_id, _ in starts:
        started = time.perf_counter()
        response = session.get(base + quote(dataset_id), params={"depth": depth, "direction": direction}, timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        sizes.append(len(response.json()["nodes"]))
    return timings, sizes


def warm_up(port, key, starts):
    """One pass over every start at the largest depth, so each timed pass meets the same warm caches."""
    session = requests.Session()
    session.headers["X-API-KEY"] = key
    for _, dataset_id, _ in starts:
        session.get(f"http://127.0.0.1:{port}/api/v1/lineage/{quote(dataset_id)}", params={"depth": 5}, timeout=60)


def time_walk_statements(org, starts, depth):
    """The recursive walk statement alone (both directions), in-process: the SQL part of an API answer."""
    os.environ.update(django_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from lineage import selectors

    timings = []
    for pk, _, _ in starts:
        started = time.perf_counter()
        for direction in (selectors.UPSTREAM, selectors.DOWNSTREAM):
            selectors.walk(organization_id=org, start_pk=pk, direction=direction, depth=depth)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_marquez(job_ids, depth):
    timings, capped, jobs = [], 0, []
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = '{MARQUEZ_TIMEOUT_S}s'")
        for job_id in job_ids:
            started = time.perf_counter()
            try:
                jobs.append(conn.execute(MARQUEZ_SQL, [job_id, depth]).fetchone()[0])
                timings.append((time.perf_counter() - started) * 1000)
            except psycopg.errors.QueryCanceled:
                capped += 1
                timings.append(MARQUEZ_TIMEOUT_S * 1000.0)
    return timings, capped, jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded bench database")
    parser.add_argument("--samples", type=int, default=60, help="API requests per depth")
    parser.add_argument("--marquez-samples", type=int, default=3, help="array-overlap queries per depth")
    args = parser.parse_args()
    began = time.perf_counter()

    fresh = create_database(args.reuse)
    if fresh:
        log("migrating the bench database")
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=django_env(), check=True)
    org, key = org_and_key()
    if fresh:
        log("bulk-loading the graph")
        load(org)
    edges, datasets, fan_out, fan_in = graph_size(org)
    log(
        f"graph: {edges:,} edges, {datasets:,} datasets; fan-out max {fan_out[0]} median {fan_out[1]}; "
        f"fan-in max {fan_in[0]} median {fan_in[1]}"
    )

    starts = pick_starts(org, args.samples)
    port = free_port()
    server = start_gunicorn(port)
    results = {}
    try:
        warm_up(port, key, starts)
        for direction in ("both", "downstream"):
            for depth in (1, 3, 5):
                timings, sizes = time_api(port, key, starts, depth, direction)
                results[(direction, depth)] = timings
                log(
                    f"API direction={direction:<10} depth={depth}: p50 {pct(timings, 0.5):7.1f} ms  "
                    f"p95 {pct(timings, 0.95):7.1f} ms  (nodes: median {statistics.median(sizes):.0f}, "
                    f"max {max(sizes)}; n={len(timings)})"
                )
    finally:
        stop_gunicorn(server)

    for depth in (1, 3, 5):
        timings = time_walk_statements(org, starts, depth)
        log(
            f"walk statements alone (up + down, in-process) depth={depth}: p50 {pct(timings, 0.5):6.1f} ms  "
            f"p95 {pct(timings, 0.95):6.1f} ms"
        )

    job_ids = [writer for _, _, writer in starts[: args.marquez_samples]]
    for depth in (1, 3, 5) if job_ids else ():
        timings, capped, jobs = time_marquez(job_ids, depth)
        median = statistics.median(timings)
        shown = f">= {MARQUEZ_TIMEOUT_S * 1000:.0f}" if capped * 2 > len(timings) else f"{median:.0f}"
        ours = pct(results[("both", depth)], 0.5)
        ratio = median / ours
        log(
            f"Marquez array-overlap depth={depth}: p50 {shown} ms ({capped}/{len(timings)} capped at "
            f"{MARQUEZ_TIMEOUT_S}s; jobs reached {jobs}); API both-directions p50 {ours:.1f} ms -> "
            f"{'>= ' if capped else ''}{ratio:.0f}x"
        )
    log(f"done in {time.perf_counter() - began:.0f}s")


if __name__ == "__main__":
    main()
