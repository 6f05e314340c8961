"""Profiles OpenLineage ingestion in one process: where CPU and wall time go per event, single and batch.

The whole Django stack (middleware, API-key authentication, the event throttle, DRF, the workflow)
through Django's test client, i.e. its WSGI handler, DJANGO_DEBUG=0 settings, on PostgreSQL (a
fresh database). For single events (START+COMPLETE pairs, 3 inputs + 1 output) and for 500-event
batches it prints: CPU ms per event (time.process_time), wall ms per event, the wall time of each
SQL statement (summed per statement shape, so the database's share shows), and cProfile's top
functions by own time and by cumulative time.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_ol_profile \\
        .venv/bin/python bench/profile_openlineage.py [--pairs 200] [--batches 4] [--top 30]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dxp_ol_profile")

import openlineage_ingest as bench  # noqa: E402  (sets the Django environment up for the bench database)


def statement_timer():
    """An execute wrapper summing each statement shape's wall time (the database's share of a request)."""
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = re.sub(r"\s+", " ", sql)[:110]
            totals[shape][0] += 1
            totals[shape][1] += time.perf_counter() - started

    return timed, totals


def report(title, events, cpu, wall, totals, profile, top):
    print(f"\n=== {title}: {events} events ===")
    print(f"CPU {cpu * 1000 / events:.2f} ms/event, wall {wall * 1000 / events:.2f} ms/event")
    sql_wall = sum(t for _, t in totals.values())
    statements = sum(n for n, _ in totals.values())
    print(f"SQL wall {sql_wall * 1000 / events:.2f} ms/event in {statements / events:.2f} statements per event")
    for shape, (count, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"  {seconds * 1000 / events:6.3f} ms/event  x{count:<6} {shape}")
    if profile is not None:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
            print(f"--- cProfile by {order} (profiled run; CPU figures above are without the profiler) ---")
            print("\n".join(out.getvalue().splitlines()[6 : 6 + top + 4]))


def measure(run, events, top):
    """One unprofiled timed run (figures), one profiled run (where the time goes)."""
    from django.db import connection

    timed, totals = statement_timer()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(timed):
        run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    return cpu, wall, totals, profile


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--only", choices=["single", "batch"], help="profile one path only")
    args = parser.parse_args()

    bench.recreate_database()
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

    for body in bench.pairs(20):
        client.post("/api/v1/lineage", json.dumps(body), content_type="application/json")

    def singles():
        for body in [json.dumps(body) for body in bench.pairs(args.pairs)]:
            response = client.post("/api/v1/lineage", body, content_type="application/json")
            assert response.status_code == 201, response.content[:300]

    if args.only != "batch":
        cpu, wall, totals, profile = measure(singles, args.pairs * 2, args.top)
        report("single events through POST /api/v1/lineage", args.pairs * 2, cpu, wall, totals, profile, args.top)
    if args.only == "single":
        return

    bench.batch_round(client, list(bench.pairs(bench.BATCH // 2, job="warm_batch")))

    def batches():
        for index in range(args.batches):
            bench.batch_round(client, list(bench.pairs(bench.BATCH // 2, job=f"batch_job_{index % 3}")))

    events = args.batches * bench.BATCH
    cpu, wall, totals, profile = measure(batches, events, args.top)
    report("500-event batches through POST /api/v1/lineage/batch", events, cpu, wall, totals, profile, args.top)


if __name__ == "__main__":
    main()
