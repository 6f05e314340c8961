"""Profiles POST /api/v1/runs/ in one process: CPU per event, SQL per event, and where the time goes.

Runs the whole Django stack (middleware, authentication, throttling, DRF, the run state machine) through
Django's WSGI handler, against the catalog bench database (bench/catalog_runs.py loads it), with
DJANGO_DEBUG=0 settings. Prints CPU ms per event (time.process_time), queries per event and the top
functions of cProfile by cumulative time.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_catalog \\
        /work/main/.venv/bin/python bench/profile_run_events.py [--events 400] [--top 25]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dxp_bench_catalog"
)
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-profile-" + "x" * 40)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("DATAXPIPE_THROTTLE_RATE", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print one JSON line of figures, no profile")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from orgs import services as org_services
    from orgs.models import Organization

    organization = Organization.objects.get(slug="bench")
    _, key = org_services.create_api_key(
        organization=organization, name=f"profile-{uuid.uuid4().hex[:6]}", role="write"
    )
    client = Client(HTTP_X_API_KEY=key)
    prefix = uuid.uuid4().hex[:8]

    def events(count, tag):
        for n in range(count // 2):
            body = {"pipeline_id": f"pipeline_{1 + n % 199:03d}", "run_id": f"prof-{prefix}-{tag}-{n}"}
            for status, expected in (("running", 201), ("success", 200)):
                response = client.post(
                    "/api/v1/runs/", json.dumps({**body, "status": status}), content_type="application/json"
                )
                assert response.status_code == expected, response.content[:300]

    events(40, "warm")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        events(2, "count")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    events(args.events, "timed")
    cpu_ms = (time.process_time() - cpu0) * 1000 / args.events
    wall_ms = (time.perf_counter() - wall0) * 1000 / args.events
    figures = {
        "events": args.events,
        "cpu_ms_per_event": round(cpu_ms, 3),
        "wall_ms_per_event": round(wall_ms, 3),
        "sql_per_create_and_finish": len(statements),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"CPU {cpu_ms:.2f} ms and wall {wall_ms:.2f} ms per event, over {args.events} events (in-process)")
    print(f"SQL for one create + one finish event ({len(statements)} statements, BEGIN/COMMIT not shown):")
    for sql in statements:
        print("   ", sql[:200])
    profiler = cProfile.Profile()
    profiler.enable()
    events(args.events, "profiled")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
