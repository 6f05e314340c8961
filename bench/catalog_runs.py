"""Run history and run-event benchmark on PostgreSQL, through the real server (gunicorn).

1. (Re)creates the bench database, migrates it, registers 200 pipelines for one organization and
   bulk-loads 1,000,000 runs with generate_series (not through the API). One "hot" pipeline holds
   HOT_RUNS of them so that page 1,000 of its history exists (50 runs a page); the rest are spread
   over the other 199.
2. Starts gunicorn (DEBUG off) on a free loopback port and measures, with keep-alive connections:
   - GET /api/v1/pipelines/<hot>/runs page 1 and page 1,000 (reached by following `next`), p50 over
     REPEATS requests each;
   - run events accepted by the API per second (POST /api/v1/runs/: a start that creates the run,
     then its finish) against plain psycopg single-row INSERT + COMMIT into the same run table, both
     with the same number of concurrent clients, for the same duration.

Usage (about 3-5 minutes):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_catalog \
        /work/main/.venv/bin/python bench/catalog_runs.py [--reuse]
--reuse keeps an already loaded bench database (skips step 1).
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dxp_bench_catalog"
TOTAL_RUNS = 1_000_000
PIPELINES = 200
HOT_RUNS = 200_000
PAGE_SIZE = 50
DEEP_PAGE = 1000
REPEATS = 200
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
EVENT_SECONDS = float(os.environ.get("BENCH_EVENT_SECONDS", "10"))
ROUNDS = 2
SECRET = "bench-secret-key-not-for-production"


def log(message):
    print(message, flush=True)


def django_env(database_url):
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATAXPIPE_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }


def recreate_database(database_url):
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


SETUP_SCRIPT = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from catalog import services
from workflows import pipeline_spec
from workflows.registration import register_pipeline
from orgs import services as org_services
from orgs.models import Plan
org = org_services.create_organization(slug="bench", name="Bench", plan=Plan.ENTERPRISE)
_, key = org_services.create_api_key(organization=org, name="bench", role="write")
ids = []
for index in range(%(pipelines)d):
    name = f"pipeline_{index:03d}"
    spec = {"name": name, "version": "1", "schedule": "0 * * * *", "owner": "bench@example.com",
            "sources": [{"id": f"{name}_src"}], "transforms": [{"id": f"{name}_out", "inputs": [f"{name}_src"]}],
            "targets": [{"id": f"{name}_out", "connection_id": "wh", "table": f"t.{name}"}]}
    outcome = register_pipeline(organization=org, spec=pipeline_spec.parse(spec))
    ids.append([outcome.pipeline.pk, outcome.version.pk])
print(json.dumps({"org": org.pk, "key": key, "pipelines": ids}))
"""


STATE_SCRIPT = """
import django, json
django.setup()
from catalog.models import Pipeline
from orgs import services as org_services
from orgs.models import Organization
org = Organization.objects.get(slug="bench")
_, key = org_services.create_api_key(organization=org, name="bench-reuse", role="write")
ids = [list(row) for row in Pipeline.objects.for_organization(org).filter(name__startswith="pipeline_")
       .order_by("name").values_list("pk", "current_version_id")]
print(json.dumps({"org": org.pk, "key": key, "pipelines": ids}))
"""


def state_from_database(database_url):
    """The state of an already loaded bench database (--reuse without var/bench_catalog_state.json)."""
    env = {**django_env(database_url), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", STATE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    state = json.loads(result.stdout.strip().splitlines()[-1])
    if len(state["pipelines"]) != PIPELINES:
        raise SystemExit(f"{database_url} has {len(state['pipelines'])} bench pipelines; run without --reuse")
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_catalog_state.json").write_text(json.dumps(state))
    return state


def load(database_url):
    t0 = time.perf_counter()
    recreate_database(database_url)
    env = {**django_env(database_url), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT % {"pipelines": PIPELINES}],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    state = json.loads(result.stdout.strip().splitlines()[-1])
    log(f"migrated and registered {PIPELINES} pipelines in {time.perf_counter() - t0:.1f}s")
    t1 = time.perf_counter()
    pipeline_ids = [p for p, _ in state["pipelines"]]
    version_ids = [v for _, v in state["pipelines"]]
    others = PIPELINES - 1
    with psycopg.connect(database_url) as conn:
        # Run g: the hot pipeline for g <= HOT_RUNS, else one of the others in turn; one second apart.
        conn.execute(
            """
            INSERT INTO catalog_run (organization_id, pipeline_id, pipeline_version_id, run_id, status,
                                     started_at, finished_at, attributes, created_at, updated_at)
            SELECT %(org)s, (%(pipelines)s::bigint[])[idx], (%(versions)s::bigint[])[idx], 'bench-' || g,
                   CASE WHEN g %% 20 = 0 THEN 'failed' WHEN g %% 53 = 0 THEN 'cancelled' ELSE 'success' END,
                   ts, ts + interval '5 minutes', '{}'::jsonb, ts, ts + interval '5 minutes'
            FROM (
                SELECT g,
                       CASE WHEN g <= %(hot)s THEN 1 ELSE 2 + (g %% %(others)s) END AS idx,
                       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS ts
                FROM generate_series(1, %(total)s) AS g
            ) AS runs
            """,
            {
                "org": state["org"],
                "pipelines": pipeline_ids,
                "versions": version_ids,
                "hot": HOT_RUNS,
                "others": others,
                "total": TOTAL_RUNS,
            },
        )
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE catalog_run")
    log(f"bulk-loaded {TOTAL_RUNS:,} runs in {time.perf_counter() - t1:.1f}s")
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_catalog_state.json").write_text(json.dumps(state))
    return state


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(database_url, default_workers="3"):
    port = free_port()
    env = {
        **django_env(database_url),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", default_workers),
        "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "4"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start: " + server.stderr.read().decode()[-2000:])


class Client:
    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"X-API-KEY": key, "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()


def p50s_ms(client, paths):
    """p50 latency of each path, requests interleaved so that load changes hit every path alike."""
    for path in paths:
        client.call("GET", path)  # warm
    timings = {path: [] for path in paths}
    for _ in range(REPEATS):
        for path in paths:
            t0 = time.perf_counter()
            status, _ = client.call("GET", path)
            timings[path].append((time.perf_counter() - t0) * 1000)
            assert status == 200, status
    return [statistics.median(timings[path]) for path in paths]


def measure_pages(port, key):
    client = Client(port, key)
    first = f"/api/v1/pipelines/pipeline_000/runs?page_size={PAGE_SIZE}"
    path, t0 = first, time.perf_counter()
    for _ in range(DEEP_PAGE - 1):
        status, body = client.call("GET", path)
        assert status == 200, (status, body[:300])
        following = json.loads(body)["next"]
        path = following[following.index("/api/") :]
    walk = time.perf_counter() - t0
    status, body = client.call("GET", path)
    deep_runs = json.loads(body)["results"]
    assert len(deep_runs) == PAGE_SIZE
    log(f"walked to page {DEEP_PAGE} in {walk:.1f}s; its first run is {deep_runs[0]['run_id']}")
    return p50s_ms(client, [first, path])


def timed_workers(work, clients, seconds):
    """Runs work(index, deadline) -> count in `clients` threads; returns events per second."""
    counts = [0] * clients
    barrier = threading.Barrier(clients + 1)
    deadline_box = {}

    def runner(index):
        barrier.wait()
        counts[index] = work(index, deadline_box["deadline"])

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    deadline_box["deadline"] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - t0)


def api_event_rate(port, key, clients):
    prefix = uuid.uuid4().hex[:8]

    def work(index, deadline):
        client, count, sequence = Client(port, key), 0, 0
        while time.perf_counter() < deadline and count < 1_000_000:
            run_id = f"api-{prefix}-{index}-{sequence}"
            sequence += 1
            pipeline = f"pipeline_{1 + (sequence + index) % (PIPELINES - 1):03d}"
            status, body = client.call(
                "POST", "/api/v1/runs/", {"pipeline_id": pipeline, "run_id": run_id, "status": "running"}
            )
            assert status == 201, (status, body[:300])
            status, body = client.call(
                "POST", "/api/v1/runs/", {"pipeline_id": pipeline, "run_id": run_id, "status": "success"}
            )
            assert status == 200, (status, body[:300])
            count += 2
        return count

    return timed_workers(work, clients, EVENT_SECONDS)


def raw_insert_rate(database_url, state, clients):
    prefix = uuid.uuid4().hex[:8]

    def work(index, deadline):
        count = 0
        with psycopg.connect(database_url) as conn:
            while time.perf_counter() < deadline and count < 1_000_000:
                pipeline_id, version_id = state["pipelines"][1 + (count + index) % (PIPELINES - 1)]
                conn.execute(
                    "INSERT INTO catalog_run (organization_id, pipeline_id, pipeline_version_id, run_id, status, "
                    "started_at, finished_at, attributes, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, 'running', now(), NULL, '{}'::jsonb, now(), now())",
                    (state["org"], pipeline_id, version_id, f"raw-{prefix}-{index}-{count}"),
                )
                conn.commit()
                count += 1
        return count

    return timed_workers(work, clients, EVENT_SECONDS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep the already loaded bench database")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    state_file = ROOT / "var" / "bench_catalog_state.json"
    started = time.perf_counter()
    if args.reuse:
        try:
            state = json.loads(state_file.read_text()) if state_file.exists() else state_from_database(database_url)
        except subprocess.CalledProcessError:
            log("no loaded bench database to reuse: loading it")
            state = load(database_url)
    else:
        state = load(database_url)
    server, port = start_server(database_url)
    try:
        page1, deep = measure_pages(port, state["key"])
        log(
            f"run history p50 over {REPEATS}: page 1 {page1:.2f} ms, page {DEEP_PAGE} {deep:.2f} ms "
            f"-> ratio {deep / page1:.2f}x"
        )
        for clients in (CLIENTS, 1):
            # Alternating rounds, so that other load on the machine does not favour one side.
            api, raw = [], []
            for _ in range(ROUNDS):
                api.append(api_event_rate(port, state["key"], clients))
                raw.append(raw_insert_rate(database_url, state, clients))
            api_rate, raw_rate = statistics.mean(api), statistics.mean(raw)
            log(
                f"{clients} concurrent client(s), {ROUNDS}x{EVENT_SECONDS:.0f}s each: API {api_rate:.0f} run events/s "
                f"(rounds {', '.join(f'{r:.0f}' for r in api)}), psycopg single-row insert+commit {raw_rate:.0f}/s "
                f"(rounds {', '.join(f'{r:.0f}' for r in raw)}) -> API at {api_rate / raw_rate:.2f}x the raw rate"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    log(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
