"""Benchmark: one late-pipeline pass (catalog.late_detection) over many pipelines with a long run history.

Compares the pass with two baselines measured in the same minutes: reading the same pipelines' rows bare
(what any pass must at least read), and the obvious per-pipeline loop (one latest-run query per pipeline).
Prints figures; asserts nothing about time. Needs a migrated PostgreSQL database:

    createdb dxp_bench_late && DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_late \\
        .venv/bin/python manage.py migrate && DATABASE_URL=... .venv/bin/python bench/late_detection.py
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import bench_django

bench_django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.late_detection import detect_late_pipelines  # noqa: E402
from catalog.lateness import due_slot  # noqa: E402
from catalog.models import Pipeline, Run  # noqa: E402
from orgs import services  # noqa: E402
from orgs.models import Plan  # noqa: E402

SCHEDULES = [("0 * * * *", "UTC"), ("0 6 * * *", "UTC"), ("*/5 * * * *", "UTC"), ("30 2 * * *", "Europe/Paris")]
NOW = datetime(2026, 6, 10, 12, 7, tzinfo=UTC)


def seed(organizations: int, pipelines: int, runs_per_pipeline: int) -> None:
    stamp = int(time.time())
    per_org = pipelines // organizations
    for number in range(organizations):
        organization = services.create_organization(slug=f"bench-late-{stamp}-{number}", plan=Plan.ENTERPRISE)
        created = NOW - timedelta(days=60)
        Pipeline.objects.bulk_create(
            [
                Pipeline(
                    organization=organization,
                    name=f"p{index}",
                    schedule=SCHEDULES[index % len(SCHEDULES)][0],
                    schedule_timezone=SCHEDULES[index % len(SCHEDULES)][1],
                    created_at=created,
                    expected_since=created,
                )
                for index in range(per_org)
            ],
            batch_size=2000,
        )
    # Runs in bulk, in SQL: one an hour going back from NOW, the last one of every third pipeline running.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO catalog_run (organization_id, pipeline_id, run_id, status, started_at, finished_at, attributes,
                created_at, updated_at)
            SELECT p.organization_id, p.id, 'r-' || p.id || '-' || n,
                CASE WHEN n = 0 AND p.id %% 3 = 0 THEN 'running' ELSE 'success' END,
                %(now)s - n * interval '1 hour' - interval '90 minutes',
                CASE WHEN n = 0 AND p.id %% 3 = 0 THEN NULL
                     ELSE %(now)s - n * interval '1 hour' - interval '80 minutes' END,
                '{}'::jsonb, %(now)s - n * interval '1 hour' - interval '90 minutes', %(now)s
            FROM catalog_pipeline p CROSS JOIN generate_series(0, %(runs)s - 1) AS n
            WHERE p.organization_id IN (SELECT id FROM orgs_organization WHERE slug LIKE %(prefix)s)
            """,
            {"now": NOW, "runs": runs_per_pipeline, "prefix": f"bench-late-{stamp}-%"},
        )
        cursor.execute("ANALYZE catalog_run; ANALYZE catalog_pipeline")


def timed(work, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return samples


def bare_read():
    # unscoped: the baseline reads every organization's pipelines, as the pass does.
    rows = list(Pipeline.objects.unscoped().filter(paused=False).exclude(schedule="").values_list("pk", "schedule"))
    return len(rows)


def per_pipeline_loop():
    """The obvious pass: each pipeline's latest run by its own query (what the set-based pass avoids)."""
    # unscoped: a cross-organization baseline, as above.
    pipelines = Pipeline.objects.unscoped().filter(paused=False).exclude(schedule="")
    for pipeline in pipelines.only("pk", "schedule", "schedule_timezone", "late_grace_minutes"):
        Run.objects.unscoped().filter(pipeline_id=pipeline.pk).order_by("-created_at", "-id").first()
        due_slot(pipeline.schedule, pipeline.schedule_timezone, timedelta(minutes=15), NOW)


def ms(samples) -> str:
    return f"p50 {statistics.median(samples) * 1000:.0f} ms (min {min(samples) * 1000:.0f}, n={len(samples)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument("--pipelines", type=int, default=10_000)
    parser.add_argument("--runs-per-pipeline", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the pipelines already seeded")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL=postgres://...")
    if not args.reuse:
        start = time.perf_counter()
        seed(args.organizations, args.pipelines, args.runs_per_pipeline)
        print(f"seeded in {time.perf_counter() - start:.1f} s")
    pipelines = bare_read()
    runs = Run.objects.unscoped().count()
    print(f"{pipelines} scheduled pipelines, {runs} runs")

    with CaptureQueriesContext(connection) as first_queries:
        start = time.perf_counter()
        first = detect_late_pipelines(now=NOW)
        first_s = time.perf_counter() - start
    print(
        f"first pass (writes the verdicts): {first_s * 1000:.0f} ms, {len(first_queries)} statements; "
        f"{first.became_late} late of {first.judged}"
    )
    with CaptureQueriesContext(connection) as steady_queries:
        detect_late_pipelines(now=NOW)
    steady = timed(lambda: detect_late_pipelines(now=NOW), args.repeat)
    bare = timed(bare_read, args.repeat)
    loop = timed(per_pipeline_loop, max(1, args.repeat // 2))
    print(f"steady pass (nothing changes): {ms(steady)}, {len(steady_queries)} statements")
    print(f"baseline, bare read of the same pipelines: {ms(bare)}")
    print(f"baseline, per-pipeline latest-run loop: {ms(loop)}, {pipelines + 1} statements")
    print(
        f"ratios: pass / bare read = {statistics.median(steady) / statistics.median(bare):.1f}x; "
        f"per-pipeline loop / pass = {statistics.median(loop) / statistics.median(steady):.1f}x"
    )


if __name__ == "__main__":
    main()
