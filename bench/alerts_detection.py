"""Benchmark: one alert detection pass (alerts.detection.detect) over a large run history.

Prints figures; asserts nothing about time. Uses only the local PostgreSQL. The pass reads failed runs since
its watermark through the (organization, status) index, so its cost grows with an organization's failed
runs kept (retention bounds them); the figures compare it with a pass of no rules (the floor) and with the
same pass once a partial index on failed runs' update time exists (a possible follow-up in catalog).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_alerts .venv/bin/python bench/alerts_detection.py
"""

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dxp_bench_alerts")
RUNS = int(os.environ.get("BENCH_RUNS", "500000"))
FAILED_SHARE = 0.02
PASSES = 30
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SECRET_KEY="bench-only-secret-key",
    DJANGO_ALLOWED_HOSTS="127.0.0.1",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def recreate_database():
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def timed(fn, count=PASSES):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), sorted(samples)[int(len(samples) * 0.95) - 1]


def main():
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - t0:.1f}s", flush=True)

    from alerts import detection, services
    from catalog.models import Pipeline
    from orgs import services as org_services

    organization = org_services.create_organization(slug="bench", plan="enterprise")
    pipeline = Pipeline.objects.create(organization=organization, name="bench_pipe")
    every = int(1 / FAILED_SHARE)
    with connection.cursor() as cursor:
        # A year of history, one run every minute or so; one in `every` failed.
        cursor.execute(
            """
            INSERT INTO catalog_run (organization_id, pipeline_id, run_id, status, started_at, finished_at,
                                     attributes, created_at, updated_at)
            SELECT %s, %s, 'run-' || n, CASE WHEN n %% %s = 0 THEN 'failed' ELSE 'success' END,
                   t, t + interval '5 minutes', '{}'::jsonb, t, t + interval '5 minutes'
            FROM generate_series(1, %s) AS n, LATERAL (SELECT now() - (n * interval '63 seconds')) AS at(t)
            """,
            [organization.pk, pipeline.pk, every, RUNS],
        )
        cursor.execute("ANALYZE catalog_run")
    print(f"{RUNS} runs ({RUNS // every} failed) in {time.perf_counter() - t0:.1f}s", flush=True)

    detection.detect()  # creates the watermark
    floor = timed(detection.detect)
    services.create_rule(
        organization=organization, name="mail", events=["run_failed"], destination_type="email", to="a@example.com"
    )
    detection.detect()
    with_rule = timed(detection.detect)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX bench_run_failed_recent ON catalog_run (organization_id, updated_at) WHERE status = 'failed'"
        )
        cursor.execute("ANALYZE catalog_run")
    indexed = timed(detection.detect)
    print(f"pass, no rule (floor):            median {floor[0]:.2f} ms, p95 {floor[1]:.2f} ms")
    print(
        f"pass, one rule:                   median {with_rule[0]:.2f} ms, p95 {with_rule[1]:.2f} ms "
        f"({with_rule[0] / floor[0]:.1f}x the floor)"
    )
    print(
        f"pass, one rule + partial index:   median {indexed[0]:.2f} ms, p95 {indexed[1]:.2f} ms "
        f"({indexed[0] / floor[0]:.1f}x the floor)"
    )


if __name__ == "__main__":
    main()
