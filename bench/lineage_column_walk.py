"""Benchmark: GET /api/v1/lineage/{id}?columns=true on a hostile column graph (two tables, every
column of each derived from every column of the other), with the column walk's row bound
(DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS, default 20,000) against the unbounded walk, in one run.

Prints figures; asserts nothing about time. Talks only to the database in DATABASE_URL (PostgreSQL);
every loop is bounded, and the unbounded baseline runs under a statement_timeout.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_columns .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dxp_bench_columns .venv/bin/python bench/lineage_column_walk.py
"""

import statistics
import sys
import time

import bench_django

bench_django.setup()

from django.conf import settings  # noqa: E402
from django.db import OperationalError, connection, transaction  # noqa: E402

from lineage import selectors  # noqa: E402
from lineage.models import ColumnLineageEdge, Dataset  # noqa: E402
from orgs import services  # noqa: E402
from orgs.models import Plan  # noqa: E402

SHAPES = [(60, 20), (100, 10), (224, 5)]  # (columns per table, depth): 7,200 / 20,000 / 100,352 edges
BASELINE_TIMEOUT_S = 60


def load(organization, columns):
    ColumnLineageEdge.objects.unscoped().filter(organization=organization).delete()
    Dataset.objects.unscoped().filter(organization=organization).delete()
    t = Dataset.objects.create(organization=organization, namespace="wh", dataset_id="t")
    u = Dataset.objects.create(organization=organization, namespace="wh", dataset_id="u")
    ColumnLineageEdge.objects.bulk_create(
        (
            ColumnLineageEdge(
                organization=organization, target=a, target_column=f"c{i}", source=b, source_column=f"c{j}"
            )
            for a, b in ((t, u), (u, t))
            for i in range(columns)
            for j in range(columns)
        ),
        batch_size=10_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE lineage_columnlineageedge")
    return t


def time_walk(organization, dataset, depth, cap, samples_wanted):
    settings.DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS = cap
    samples = []
    for _ in range(samples_wanted):
        start = time.perf_counter()
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {BASELINE_TIMEOUT_S * 1000}")
                selectors.column_upstream(organization_id=organization.pk, dataset_pk=dataset.pk, depth=depth)
        except OperationalError:
            return None
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL=postgres://...")
    organization = services.create_organization(slug=f"bench-columns-{int(time.time() * 1000)}", plan=Plan.TEAM)
    bounded_cap = selectors.DEFAULT_MAX_COLUMN_WALK_ROWS
    for columns, depth in SHAPES:
        dataset = load(organization, columns)
        bounded = time_walk(organization, dataset, depth, bounded_cap, 5)
        unbounded = time_walk(organization, dataset, depth, 10**12, 1)  # one sample: seconds to minutes
        baseline = f"{unbounded:.2f}s" if unbounded is not None else f">{BASELINE_TIMEOUT_S}s (statement_timeout)"
        ratio = f"{(unbounded or BASELINE_TIMEOUT_S) / bounded:.0f}x" if bounded else "-"
        print(
            f"columns={columns} edges={2 * columns * columns} depth={depth}: "
            f"bounded median of 5 {bounded:.2f}s, unbounded {baseline}, ratio {ratio}",
            flush=True,
        )


if __name__ == "__main__":
    main()
