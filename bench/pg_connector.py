"""Benchmark: one check through the PostgreSQL connector versus the same SQL sent directly with psycopg.

No HTTP and no catalog database: it times `PostgresConnector.fetch` in-process, so the figure is the
connector's own cost (session guards, the server-side single-statement parse, the result-size wrapper,
the session reset) without the noise of a web server. Run it on two checkouts back to back to compare
connectors; the direct psycopg baseline is measured in the same run, interleaved.

Usage (PostgreSQL on 127.0.0.1:5432, user postgres, trust auth; reuses bench/checks_execute.py's warehouse
database and least-privilege role, which that script creates):
    DJANGO_DEBUG=1 DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS=127.0.0.1/32 \
        .venv/bin/python bench/pg_connector.py [--rounds 1000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django
import psycopg

django.setup()

from checks.connectors.base import QueryTag  # noqa: E402
from checks.connectors.postgres import PostgresConnector  # noqa: E402

WAREHOUSE_DSN = "postgresql://dxp_bench_checker@127.0.0.1:5432/dxp_bench_checks_wh"
SQL = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1000)
    rounds = max(50, min(parser.parse_args().rounds, 20000))
    connector = PostgresConnector(config={"dsn": WAREHOUSE_DSN}, timeout_seconds=30, label="bench")
    tag = QueryTag("bench", "bench")
    direct = psycopg.connect(WAREHOUSE_DSN, autocommit=True)
    timings: dict[str, list[float]] = {"connector": [], "direct": []}
    for index in range(rounds + 50):
        started = time.perf_counter()
        rows = connector.fetch(SQL, max_rows=2, tag=tag).rows
        connector_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        direct_rows = direct.execute(SQL).fetchall()
        direct_ms = (time.perf_counter() - started) * 1000
        assert rows == direct_rows, (rows, direct_rows)
        if index >= 50:  # warm-up: pools filled, plans cached
            timings["connector"].append(connector_ms)
            timings["direct"].append(direct_ms)
    connector.close()
    direct.close()
    for name, samples in timings.items():
        print(f"  {name:<10} p50 {statistics.median(samples):6.3f} ms   p90 {percentile(samples, 0.9):6.3f} ms")
    ratio = statistics.median(timings["connector"]) / statistics.median(timings["direct"])
    print(f"  connector / direct p50: {ratio:.2f}x over {rounds} interleaved rounds")


if __name__ == "__main__":
    main()
