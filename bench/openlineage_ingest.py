"""OpenLineage ingestion: single events, 500-event batches vs raw psycopg, and a depth-5 column-lineage query.

One run, side by side, on PostgreSQL, in one process through Django's WSGI handler (middleware,
authentication, throttling, DRF, the workflow), DJANGO_DEBUG=0 settings, against a fresh database:

1. single events: START+COMPLETE pairs posted one by one to POST /api/v1/lineage (3 inputs, 1 output
   each): events/s, CPU ms per event, SQL statements per event (BEGIN/COMMIT not counted).
2. batches: the same kind of events, 500 per POST /api/v1/lineage/batch, against raw psycopg INSERTs
   of the same event payloads into a plain table in 500-row transactions, one statement per event
   (the issue's baseline) and pipelined (executemany), rounds alternated so that all see the same
   machine load; the ratios of the medians.
3. column lineage: 2,000 datasets x 50 columns (100,000 columns, 200,000 column edges), then
   GET /api/v1/lineage/{id}?columns=true&depth=5&direction=upstream, p50/p95.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_ol_bench \\
        .venv/bin/python bench/openlineage_ingest.py [--pairs 300] [--batches 6] [--json]
"""

import argparse
import gc
import io
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import catalog_runs  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dxp_ol_bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_DEBUG", "0")
# The key's digest depends on it: gunicorn (catalog_runs.start_server) gets the same one.
os.environ["DJANGO_SECRET_KEY"] = catalog_runs.SECRET
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("DATAXPIPE_OPENLINEAGE_THROTTLE_RATE", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")

BATCH = 500
DATASETS, COLUMNS = 2000, 50


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recreate_database():
    admin_url, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def event(event_type, run_id, minute, job):
    return {
        "eventType": event_type,
        "eventTime": f"2026-11-26T06:{minute:02d}:00.123456789Z",
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {"nominalTime": {"nominalStartTime": "2026-11-26T06:00:00Z"}}},
        "job": {"namespace": "airflow://prod", "name": job},
        "inputs": [{"namespace": "postgres://warehouse:5432", "name": f"shop.public.src_{i}"} for i in range(3)],
        "outputs": [{"namespace": "postgres://warehouse:5432", "name": "shop.mart.orders_daily"}],
    }


def pairs(count, job="orders_load"):
    for _ in range(count):
        run_id = str(uuid.uuid4())
        yield event("START", run_id, 0, job)
        yield event("COMPLETE", run_id, 5, job)


def single_events(client, count_pairs):
    from django.db import connection

    for body in pairs(20):  # warm: the job's pipeline and datasets exist, as for every run but the first
        client.post("/api/v1/lineage", json.dumps(body), content_type="application/json")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        for body in pairs(1):
            client.post("/api/v1/lineage", json.dumps(body), content_type="application/json")
    bodies = [json.dumps(body) for body in pairs(count_pairs)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/lineage", body, content_type="application/json")
        assert response.status_code == 201, response.content[:300]
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return {
        "single_events_per_s": round(len(bodies) / wall, 1),
        "single_cpu_ms_per_event": round(cpu * 1000 / len(bodies), 2),
        "single_wall_ms_per_event": round(wall * 1000 / len(bodies), 2),
        "statements_per_start_complete_pair": len(statements),
        "statements_per_event": len(statements) / 2,
    }


def served_single_events(key, clients_list, seconds):
    """Single events through gunicorn (config/gunicorn.conf.py: 2 workers x 4 threads, as deployed) on a
    loopback port: `clients` keep-alive connections each posting START+COMPLETE pairs for `seconds`
    (bounded in count too); events/s for each client count."""
    os.environ.setdefault("GUNICORN_WORKERS", "2")  # the deployed default (start_server's own is 3)
    server, port = catalog_runs.start_server(DATABASE_URL)
    try:
        figures = {}
        for clients in clients_list:

            def work(index, deadline):
                client, count = catalog_runs.Client(port, key), 0
                for body in pairs(100_000, job=f"served_{index % 4}"):
                    if time.perf_counter() >= deadline:
                        break
                    status, answer = client.call("POST", "/api/v1/lineage", body)
                    assert status == 201, (status, answer[:300])
                    count += 1
                return count

            work(0, time.perf_counter() + 1)  # the job's pipeline and datasets exist, as for a scheduled job
            figures[f"served_events_per_s_{clients}_clients"] = round(
                catalog_runs.timed_workers(work, clients, seconds), 1
            )
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def batch_round(client, events):
    body = json.dumps(events)
    started = time.perf_counter()
    response = client.post("/api/v1/lineage/batch", body, content_type="application/json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["accepted"] == len(events), response.content[:300]
    return len(events) / elapsed


RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw_openlineage_event (
    id bigserial PRIMARY KEY, run_id text NOT NULL, event_type text NOT NULL, event_time timestamptz NOT NULL,
    job_name text NOT NULL, payload jsonb NOT NULL, UNIQUE (run_id, event_type, event_time)
)
"""


RAW_INSERT = (
    "INSERT INTO bench_raw_openlineage_event (run_id, event_type, event_time, job_name, payload) "
    "VALUES (%s, %s, %s, %s, %s::jsonb)"
)


def raw_round(conn, events, pipelined=False):
    """The events into a plain table in one transaction: an INSERT per event, the issue's baseline (its
    figures, 35-43 events/s being 0.004x of it, put that near 10,000 events/s), or, `pipelined`, psycopg's
    executemany, which sends them all in pipeline mode without waiting for each answer (37-55k/s here)."""
    rows = [(e["run"]["runId"], e["eventType"], e["eventTime"], e["job"]["name"], json.dumps(e)) for e in events]
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor:
        if pipelined:
            cursor.executemany(RAW_INSERT, rows)
        else:
            for row in rows:
                cursor.execute(RAW_INSERT, row)
    return len(events) / (time.perf_counter() - started)


def batches_vs_raw(client, rounds):
    """Rounds alternate a 500-event batch, 500 raw INSERTs and 500 pipelined ones, so that all three see
    the same machine load; the ratios of the medians."""
    api, raw, pipelined = [], [], []
    with psycopg.connect(DATABASE_URL) as conn:
        conn.execute(RAW_TABLE)
        conn.commit()
        batch_round(client, list(pairs(BATCH // 2, job="warm_batch")))
        for index in range(rounds):
            job = f"batch_job_{index % 3}"
            api.append(batch_round(client, list(pairs(BATCH // 2, job=job))))
            raw.append(raw_round(conn, list(pairs(BATCH // 2, job=job))))
            pipelined.append(raw_round(conn, list(pairs(BATCH // 2, job=job)), pipelined=True))
    api_rate, raw_rate, pipelined_rate = (statistics.median(rates) for rates in (api, raw, pipelined))
    return {
        "batch_events_per_s": round(api_rate),
        "raw_psycopg_events_per_s": round(raw_rate),
        "raw_pipelined_events_per_s": round(pipelined_rate),
        "batch_vs_raw_ratio": round(api_rate / raw_rate, 2),
        "batch_vs_pipelined_ratio": round(api_rate / pipelined_rate, 2),
        "batch_rounds": [round(r) for r in api],
        "raw_rounds": [round(r) for r in raw],
        "pipelined_rounds": [round(r) for r in pipelined],
    }


def load_column_graph(organization):
    """2,000 datasets in a chain, 50 columns each; column c of dataset i derives from column c of i-1
    (IDENTITY) and column c+1 of i-2 (AGGREGATION): 100,000 columns, about 200,000 column edges."""
    from catalog.models import Pipeline
    from lineage.models import Dataset

    pipeline = Pipeline.objects.create(organization=organization, name="column_bench", is_external=True)
    schema = [{"name": f"c{c:02d}", "type": "int"} for c in range(COLUMNS)]
    Dataset.objects.bulk_create(
        [
            Dataset(organization=organization, namespace="bench", dataset_id=f"ds_{i:04d}", schema_fields=schema)
            for i in range(DATASETS)
        ],
        batch_size=1000,
    )
    ids = dict(
        Dataset.objects.unscoped().filter(organization=organization, namespace="bench").values_list("dataset_id", "pk")
    )
    pk = [ids[f"ds_{i:04d}"] for i in range(DATASETS)]
    edges, columns = io.StringIO(), io.StringIO()
    for i in range(1, DATASETS):
        for parent in (i - 1, i - 2):
            if parent < 0:
                continue
            edges.write(f"{organization.pk}\t{pk[parent]}\t{pk[i]}\t{pipeline.pk}\t2026-11-26 06:00:00+00\n")
            for c in range(COLUMNS):
                source_column = c if parent == i - 1 else (c + 1) % COLUMNS
                kind = "IDENTITY" if parent == i - 1 else "AGGREGATION"
                columns.write(
                    f"{organization.pk}\t{pk[i]}\tc{c:02d}\t{pk[parent]}\tc{source_column:02d}\tDIRECT\t{kind}\t\t"
                    "2026-11-26 06:00:00+00\n"
                )
    with psycopg.connect(DATABASE_URL) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY lineage_lineageedge (organization_id, source_id, target_id, pipeline_id, created_at) FROM STDIN"
        ) as copy:
            copy.write(edges.getvalue())
        with cursor.copy(
            "COPY lineage_columnlineageedge (organization_id, target_id, target_column, source_id, source_column, "
            "transformation_type, transformation_subtype, transformation_description, created_at) FROM STDIN"
        ) as copy:
            copy.write(columns.getvalue())
        cursor.execute("ANALYZE lineage_columnlineageedge")
        cursor.execute("ANALYZE lineage_lineageedge")
        cursor.execute("ANALYZE lineage_dataset")
        cursor.execute("SELECT count(*) FROM lineage_columnlineageedge")
        return cursor.fetchone()[0]


def column_query(client, organization, samples=40):
    column_edges = load_column_graph(organization)
    path = f"/api/v1/lineage/ds_{DATASETS - 1:04d}?namespace=bench&columns=true&depth=5&direction=upstream"
    for _ in range(3):
        client.get(path)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    answer = response.json()
    upstream = sum(len(column["upstream"]) for column in answer["columns"]["columns"])
    times.sort()
    return {
        "column_graph_columns": DATASETS * COLUMNS,
        "column_graph_edges": column_edges,
        "column_depth5_p50_ms": round(statistics.median(times), 1),
        "column_depth5_p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "column_depth5_upstream_columns": upstream,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=300, help="START+COMPLETE pairs posted one by one")
    parser.add_argument("--batches", type=int, default=6, help="rounds of one 500-event batch vs 500 raw rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: single,served,batch,columns")
    parser.add_argument("--served-seconds", type=float, default=15, help="per client count, through gunicorn")
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from orgs import services as org_services
    from orgs.models import Organization

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(name="bench", slug="bench", plan="enterprise")
    _, key = org_services.create_api_key(organization=organization, name="bench", role="write")
    client = Client(HTTP_X_API_KEY=key)

    client.get("/api/v1/lineage/none")  # loads the URL patterns, DRF and the views, as a worker's first request
    # What config/gunicorn.conf.py does once a worker has loaded the application (post_worker_init).
    gc.freeze()
    figures = {"machine_cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1)}
    skip = set(filter(None, args.skip.split(",")))
    if "single" not in skip:
        log("single events")
        figures |= single_events(client, args.pairs)
    if "served" not in skip:
        log("single events through gunicorn")
        figures |= served_single_events(key, [1, 8], args.served_seconds)
    if "batch" not in skip:
        log("batches vs raw psycopg")
        figures |= batches_vs_raw(client, args.batches)
    if "columns" not in skip:
        log("column lineage graph")
        figures |= column_query(client, organization)
    if args.json or skip:
        print(json.dumps(figures))
        return
    print(
        f"single events: {figures['single_events_per_s']}/s, {figures['single_cpu_ms_per_event']} ms CPU per event, "
        f"{figures['statements_per_event']} SQL statements per event "
        f"({figures['statements_per_start_complete_pair']} per START+COMPLETE pair, BEGIN/COMMIT not counted)"
    )
    print(
        f"500-event batches: {figures['batch_events_per_s']} events/s vs raw psycopg, 500 per transaction: "
        f"an INSERT per event {figures['raw_psycopg_events_per_s']}/s ({figures['batch_vs_raw_ratio']}x), "
        f"pipelined executemany {figures['raw_pipelined_events_per_s']}/s ({figures['batch_vs_pipelined_ratio']}x)"
    )
    print(
        f"column lineage, depth 5 on {figures['column_graph_columns']:,} columns ({figures['column_graph_edges']:,} "
        f"column edges): p50 {figures['column_depth5_p50_ms']} ms, p95 {figures['column_depth5_p95_ms']} ms, "
        f"{figures['column_depth5_upstream_columns']} upstream columns in the answer"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
