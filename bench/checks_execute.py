"""Benchmark: POST /api/v1/checks/execute through gunicorn versus the same SQL run directly
with the same driver (psycopg 3 for PostgreSQL, sqlite3 for SQLite), in the same run.

Usage (PostgreSQL on 127.0.0.1:5432, user postgres, trust auth):
    /work/main/.venv/bin/python bench/checks_execute.py [--requests 300] [--rows 10000]

It creates (or reuses, unless --fresh) the migrated catalog database dxp_bench_checks, a warehouse database
dxp_bench_checks_wh and a SQLite warehouse file, starts gunicorn on a free loopback port with
DJANGO_DEBUG=0, and prints p50/p90/p99 latencies and the p50 overhead in ms. Traffic goes only
to 127.0.0.1 and every loop is bounded by --requests.
"""

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CATALOG_DB = "dxp_bench_checks"
WAREHOUSE_DB = "dxp_bench_checks_wh"
# Checks refuse privileged roles: the benchmark registers a least-privilege role, as docs/security.md says.
CHECKER_ROLE = "dxp_bench_checker"
SQL = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"
WARMUP = 30


def recreate_database(name: str, keep: bool = False) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and keep:
            return
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def build_warehouses(rows: int, sqlite_path: Path) -> None:
    recreate_database(WAREHOUSE_DB)
    data = [(index, -1.0 if index % 97 == 0 else float(index % 500)) for index in range(rows)]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{WAREHOUSE_DB}") as connection:
        connection.execute("CREATE TABLE orders (order_id int PRIMARY KEY, amount numeric)")
        with connection.cursor().copy("COPY orders (order_id, amount) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        connection.execute(
            f"DO $$ BEGIN CREATE ROLE {CHECKER_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        connection.execute(f"GRANT CONNECT ON DATABASE {WAREHOUSE_DB} TO {CHECKER_ROLE}")
        connection.execute(f"GRANT USAGE ON SCHEMA public TO {CHECKER_ROLE}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CHECKER_ROLE}")
    with sqlite3.connect(sqlite_path) as connection:
        connection.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount REAL)")
        connection.executemany("INSERT INTO orders VALUES (?, ?)", data)
    connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100)
    return {"p50": statistics.median(ordered), "p90": cut[89], "p99": cut[98]}


def timed_interleaved(calls: dict, count: int) -> dict[str, list[float]]:
    """Runs the calls in turn, `count` rounds, so that every series sees the same machine load."""
    for _ in range(WARMUP):
        for call in calls.values():
            call()
    samples = {name: [] for name in calls}
    for _ in range(count):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def setup_catalog(env: dict, sqlite_path: Path) -> str:
    """Migrates the catalog database and creates an organization, a key and two connections."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = f"""
from catalog.models import Connection
from orgs import services
from orgs.models import Plan, Role
from orgs.models import Organization
org = Organization.objects.filter(slug="bench").first() or services.create_organization(
    slug="bench", plan=Plan.ENTERPRISE)
Connection.objects.for_organization(org).update_or_create(
    organization=org, connection_id="pg-bench", defaults=dict(type="postgres",
    config={{"dsn": "postgresql://{CHECKER_ROLE}@127.0.0.1:5432/{WAREHOUSE_DB}"}}))
Connection.objects.for_organization(org).update_or_create(
    organization=org, connection_id="sqlite-bench", defaults=dict(type="sqlite",
    config={{"path": "{sqlite_path}"}}))
_, key = services.create_api_key(organization=org, name="bench", role=Role.WRITE)
print(key)
"""
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return [line for line in output.splitlines() if line.startswith("dxp_")][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--fresh", action="store_true", help="drop and re-migrate the catalog database")
    args = parser.parse_args()
    count = max(10, min(args.requests, 5000))

    workdir = Path(tempfile.mkdtemp(prefix="dxp_bench_checks_"))
    # The bench organization's own directory: a sqlite path must lie in `<allowed dir>/<org-slug>/`.
    (workdir / "warehouses" / "bench").mkdir(parents=True)
    sqlite_path = workdir / "warehouses" / "bench" / "bench.sqlite3"
    # The catalog database is kept between runs (its migrations take a while); --fresh rebuilds it.
    recreate_database(CATALOG_DB, keep=not args.fresh)
    build_warehouses(args.rows, sqlite_path)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{CATALOG_DB}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATAXPIPE_SQLITE_ALLOWED_DIRS": str(workdir / "warehouses"),
        # The warehouse is on this machine: the operator allow-lists loopback.
        "DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS": "127.0.0.1/32",
        "DATAXPIPE_THROTTLE_RATE": "1000000/min",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": os.devnull,
        "LOG_LEVEL": "WARNING",
    }
    key = setup_catalog(env, sqlite_path)
    server = subprocess.Popen(
        [GUNICORN, "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        session = requests.Session()
        session.headers["X-API-KEY"] = key
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if session.get(f"{base}/health", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")

        def api(connection_id):
            def call():
                response = session.post(
                    f"{base}/api/v1/checks/execute",
                    timeout=10,
                    json={"connection_id": connection_id, "sql": SQL, "check_id": "chk_bench"},
                )
                assert response.status_code == 201 and response.json()["status"] == "fail", response.text

            return call

        pg = psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{WAREHOUSE_DB}")

        def direct_pg():
            with pg.cursor() as cursor:
                cursor.execute(SQL)
                cursor.fetchone()
            pg.rollback()

        lite = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)

        def direct_sqlite():
            lite.execute(SQL).fetchone()

        def baseline():
            # The cheapest authenticated read: authentication, middleware and one indexed query.
            assert session.get(f"{base}/api/v1/checks/results?page_size=1", timeout=10).status_code == 200

        samples = timed_interleaved(
            {
                "baseline GET results?page_size=1": baseline,
                "postgres direct (psycopg)": direct_pg,
                "postgres via API": api("pg-bench"),
                "sqlite direct (sqlite3)": direct_sqlite,
                "sqlite via API": api("sqlite-bench"),
            },
            count,
        )
        figures = {name: percentiles(values) for name, values in samples.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"{count} rounds of sequential calls, interleaved (after {WARMUP} warm-up rounds), {args.rows} rows")
    print(f"SQL: {SQL}")
    for name, values in figures.items():
        print(f"  {name:<33} p50 {values['p50']:7.2f} ms   p90 {values['p90']:7.2f} ms   p99 {values['p99']:7.2f} ms")
    for warehouse in ("postgres", "sqlite"):
        direct = figures[f"{warehouse} direct ({'psycopg' if warehouse == 'postgres' else 'sqlite3'})"]["p50"]
        overhead = figures[f"{warehouse} via API"]["p50"] - direct
        print(f"  {warehouse} p50 overhead of the API: {overhead:.2f} ms")
    floor = figures["baseline GET results?page_size=1"]["p50"]
    print(f"  (the cheapest authenticated GET on the same server, the floor of any API call: p50 {floor:.2f} ms)")


if __name__ == "__main__":
    main()
