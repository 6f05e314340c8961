"""Benchmark: the cost of plan-limit enforcement, and GET /api/v1/organizations/me through gunicorn.

Prints figures; asserts nothing about time. Traffic goes only to 127.0.0.1; every loop is bounded.
How to run: docs/benchmarks-billing.md.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import bench_django

bench_django.setup()
ROOT = bench_django.ROOT

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Pipeline, Run  # noqa: E402
from orgs import limits, services  # noqa: E402
from orgs.models import Plan  # noqa: E402
from workflows.usage import organization_usage  # noqa: E402


def summary(samples_s):
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"n={len(ms)} mean={statistics.fmean(ms):.2f}ms p50={statistics.median(ms):.2f}ms p95={p95:.2f}ms"


def timed(fn, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def in_threads(threads, per_thread, work):
    results, lock = [], threading.Lock()

    def target():
        local = []
        try:
            for _ in range(per_thread):
                try:
                    work()
                    local.append("ok")
                except limits.PlanLimitReached:
                    local.append("refused")
        finally:
            connection.close()
        with lock:
            results.extend(local)

    workers = [threading.Thread(target=target) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results, time.perf_counter() - start


def bench_monthly_counter(organization, runs, calls):
    metric = "runs_per_month"
    print(f"\n== consume_monthly('{metric}') on the {organization.plan} plan ==")
    limits.consume_monthly(organization, metric)  # creates this month's counter row
    with CaptureQueriesContext(connection) as queries:
        limits.consume_monthly(organization, metric)
    print(f"queries per call: {len(queries)}")
    print(f"with 0 runs stored:        {summary(timed(lambda: limits.consume_monthly(organization, metric), calls))}")

    pipeline = Pipeline.objects.create(organization=organization, name="bench-pipeline")
    batch = 5000
    for offset in range(0, runs, batch):
        Run.objects.bulk_create(
            Run(organization=organization, pipeline=pipeline, run_id=f"r{offset + i}", status="success")
            for i in range(min(batch, runs - offset))
        )
    print(f"with {runs} runs stored: {summary(timed(lambda: limits.consume_monthly(organization, metric), calls))}")

    results, elapsed = in_threads(4, calls // 4, lambda: limits.consume_monthly(organization, metric))
    print(f"4 threads x {calls // 4} calls: {len(results) / elapsed:.0f} calls/s")


def bench_boundary_race(limit, threads, per_thread):
    metric = "check_executions_per_month"
    settings.PLAN_LIMITS["free"] = {**settings.PLAN_LIMITS["free"], metric: limit}
    organization = services.create_organization(slug=f"bench-race-{int(time.time() * 1000)}", plan=Plan.FREE)
    results, elapsed = in_threads(threads, per_thread, lambda: limits.consume_monthly(organization, metric))
    usage = organization_usage(organization)[metric]
    print(f"\n== race at the boundary: limit {limit}, {threads} threads x {per_thread} attempts ==")
    print(
        f"accepted={results.count('ok')} refused={results.count('refused')} final counter={usage} "
        f"({len(results) / elapsed:.0f} attempts/s)"
    )


def bench_counted_limit(organization, count):
    print(f"\n== create_api_key (enforce_limit under the organization lock), {count} keys ==")
    # Room for the keys: the team plan's default allows 50.
    settings.PLAN_LIMITS[organization.plan] = {**settings.PLAN_LIMITS[organization.plan], "api_keys": count + 10}

    def create():
        with transaction.atomic():
            services.create_api_key(organization=organization, name="bench")

    print(summary(timed(create, count)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_me_through_gunicorn(organization, requests_count):
    _key, full_key = services.create_api_key(organization=organization, name="bench-me")
    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "DJANGO_DEBUG": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(60):
            try:
                if requests.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            sys.exit("gunicorn did not become healthy")
        session = requests.Session()
        session.headers["X-API-KEY"] = full_key

        def get_me():
            response = session.get(f"{base}/api/v1/organizations/me", timeout=10)
            response.raise_for_status()

        get_me()
        print("\n== GET /api/v1/organizations/me through gunicorn (2 workers x 4 threads) ==")
        print(f"sequential: {summary(timed(get_me, requests_count))}")
        per_thread = requests_count // 4
        sessions = threading.local()

        def get_me_threaded():
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
                sessions.s.headers["X-API-KEY"] = full_key
            sessions.s.get(f"{base}/api/v1/organizations/me", timeout=10).raise_for_status()

        results, elapsed = in_threads(4, per_thread, get_me_threaded)
        print(f"4 client threads x {per_thread}: {len(results) / elapsed:.0f} requests/s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000, help="runs stored before the second measurement")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL=postgres://... (see docs/benchmarks-billing.md)")

    organization = services.create_organization(slug=f"bench-{int(time.time() * 1000)}", plan=Plan.TEAM)
    bench_monthly_counter(organization, args.runs, args.calls)
    bench_boundary_race(limit=1000, threads=8, per_thread=200)
    bench_counted_limit(organization, 200)
    bench_me_through_gunicorn(organization, args.requests)


if __name__ == "__main__":
    main()
