"""Benchmark: check execution scale-out on loopback (issue 12's Proof), written to docs/benchmarks-scale-out.md.

Two gunicorn nodes (2 workers x 4 threads each) share the PostgreSQL catalog database and RabbitMQ with
1, then 2, then 4 `celery -A config worker` nodes (a thread pool of --worker-threads each), in one run:

- load: 10 quiet organizations x --quiet-checks checks plus one organization sending --flood-checks, all
  `SELECT 0 AS violations FROM pg_sleep(--sleep)` on a PostgreSQL warehouse reached through the allow-list
  and a least-privilege role; the flood is sent first (the worst case for the quiet organizations);
- during the load, `/health` and `GET /api/v1/organizations/me` p95 (a probe alternating both nodes);
- every check must finish (`done` with a result); executions/s per worker count, and the ratios;
- quiet organizations' queue wait (asked-for -> started) in slots (one slot = one check's duration), next to
  the same load without the flooding organization (2 workers): what the flood adds;
- the added latency of a quick check through the queue (idle workers) against in-process execution
  (a third gunicorn node with CHECK_EXECUTION_BACKEND=inline, the way checks ran before), p50 and p95.

Usage (PostgreSQL on 127.0.0.1:5432 with trust auth, RabbitMQ on 127.0.0.1:5672):
    .venv/bin/python bench/scale_out.py [--sleep 1] [--quiet-checks 20] [--flood-checks 200] [--fresh]
        [--before-tree DIR]   (e.g. mkdir /tmp/before && git archive main | tar -x -C /tmp/before)
Traffic goes only to 127.0.0.1; every loop is bounded.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CATALOG_DB = "dxp_bench_scale"
CATALOG_DSN = f"postgresql://postgres@127.0.0.1:5432/{CATALOG_DB}"
WAREHOUSE_DB = "dxp_bench_scale_wh"
CHECKER_ROLE = "dxp_bench_scale_checker"
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
QUICK_SQL = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"
QUIET_ORGS = 10


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def prepare_databases(fresh: bool) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (CATALOG_DB,)).fetchone()
        if fresh or not exists:
            admin.execute(f"DROP DATABASE IF EXISTS {CATALOG_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {CATALOG_DB}")
        admin.execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {WAREHOUSE_DB}")
        admin.execute(
            f"DO $$ BEGIN CREATE ROLE {CHECKER_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        # Eleven organizations x four worker nodes keep pooled warehouse sessions; the warehouse and the catalog
        # share this server's max_connections here (not in production): idle sessions end after 3 s.
        admin.execute(f"ALTER ROLE {CHECKER_ROLE} SET idle_session_timeout = '3s'")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{WAREHOUSE_DB}", autocommit=True) as warehouse:
        warehouse.execute("CREATE TABLE orders (order_id int PRIMARY KEY, amount numeric)")
        warehouse.execute("INSERT INTO orders SELECT g, g % 50 - 1 FROM generate_series(1, 1000) g")
        warehouse.execute(f"GRANT CONNECT ON DATABASE {WAREHOUSE_DB} TO {CHECKER_ROLE}")
        warehouse.execute(f"GRANT USAGE ON SCHEMA public TO {CHECKER_ROLE}")
        warehouse.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CHECKER_ROLE}")


def base_env(queue: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{CATALOG_DB}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS": "127.0.0.1/32",
        "DATAXPIPE_THROTTLE_RATE": "1000000/min",
        "CELERY_BROKER_URL": BROKER_URL,
        "CHECK_EXECUTION_QUEUE": queue,
        "GUNICORN_ACCESS_LOG": os.devnull,
        "LOG_LEVEL": "WARNING",
    }


def setup_catalog(env: dict) -> dict:
    """Migrates and creates the organizations (team plan: check_concurrency 10), their keys and warehouses."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = f"""
import json
from catalog.models import Connection
from checks.models import CheckExecution
from orgs import services
from orgs.models import Organization, Plan, Role
CheckExecution.objects.unscoped().delete()
keys = {{}}
for slug in ["flood"] + [f"quiet-{{n}}" for n in range({QUIET_ORGS})]:
    org = Organization.objects.filter(slug=slug).first() or services.create_organization(slug=slug, plan=Plan.TEAM)
    Connection.objects.for_organization(org).update_or_create(
        organization=org, connection_id="wh", defaults=dict(type="postgres",
        config={{"dsn": "postgresql://{CHECKER_ROLE}@127.0.0.1:5432/{WAREHOUSE_DB}"}}))
    keys[slug] = services.create_api_key(organization=org, name="bench", role=Role.WRITE)[1]
print("KEYS " + json.dumps(keys))
"""
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads([line for line in output.splitlines() if line.startswith("KEYS ")][-1][5:])


class Processes:
    def __init__(self):
        self.running = []

    def start(self, command, env, name, cwd=None):
        log_file = open(ROOT / "var" / "bench" / f"scale_out-{name}.log", "w")  # noqa: SIM115 (closed in stop)
        process = subprocess.Popen(
            command, cwd=cwd or ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append((process, log_file))
        return process

    def stop(self, process):
        for entry in list(self.running):
            if entry[0] is process:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                entry[1].close()
                self.running.remove(entry)

    def stop_all(self):
        for process, _ in list(self.running):
            self.stop(process)


def start_web(processes, env, port, name, cwd=None, **extra):
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", **extra}
    processes.start([GUNICORN, "-c", "config/gunicorn.conf.py"], env, name, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(f"{base}/health", timeout=2).ok:
                return base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn {name} did not start")


def start_workers(processes, env, count, threads, queue, pool="threads"):
    started = []
    for index in range(count):
        command = [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", pool, "-c"]
        command += [str(threads), "-n", f"bench{index}-{uuid.uuid4().hex[:6]}@%h", "-l", "WARNING"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        started.append(processes.start(command, env, f"worker-{index}"))
    return started


def delete_queue(queue):
    try:
        from kombu import Connection

        with Connection(BROKER_URL, connect_timeout=3) as connection:
            connection.default_channel.queue_delete(queue)
    except Exception as exc:  # the report matters more than the cleanup
        log(f"could not delete the queue {queue}: {exc}")


def execute(session, base, key, sql, wait_seconds, check_id):
    response = session.post(
        f"{base}/api/v1/checks/execute",
        json={"connection_id": "wh", "sql": sql, "check_id": check_id, "wait_seconds": wait_seconds},
        headers={"X-API-KEY": key},
        timeout=90,
    )
    return response


def wait_until_idle(seconds=30):
    """No execution in flight: the previous phase's workers are gone and nothing is left over."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(CATALOG_DSN, autocommit=True) as catalog:
        while time.monotonic() < deadline:
            busy = catalog.execute(
                "SELECT count(*) FROM checks_checkexecution WHERE state IN ('queued','dispatched','running')"
            ).fetchone()[0]
            if not busy:
                return
            time.sleep(0.2)
    raise SystemExit("executions still in flight")


def probe(bases, key, stop, samples):
    """Alternates /health and GET /organizations/me on both nodes, every 50 ms, until stopped."""
    session = requests.Session()
    index = 0
    while not stop.is_set():
        base = bases[index % len(bases)]
        for name, url, headers in (
            ("health", f"{base}/health", {}),
            ("organizations/me", f"{base}/api/v1/organizations/me", {"X-API-KEY": key}),
        ):
            started = time.perf_counter()
            try:
                ok = session.get(url, headers=headers, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            samples[name].append(((time.perf_counter() - started) * 1000, ok))
        index += 1
        stop.wait(0.05)


def load_phase(bases, keys, sleep, quiet_checks, flood_checks, label):
    """Sends the flood, then the quiet organizations' checks (wait_seconds 0); waits until all finished."""
    sql = f"SELECT 0 AS violations FROM pg_sleep({sleep})"
    jobs = [("flood", n) for n in range(flood_checks)]
    jobs += [(f"quiet-{org}", n) for n in range(quiet_checks) for org in range(QUIET_ORGS)]
    stop, samples = threading.Event(), {"health": [], "organizations/me": []}
    prober = threading.Thread(target=probe, args=(bases, keys["quiet-0"], stop, samples), daemon=True)
    prober.start()
    sessions = threading.local()
    statuses = []

    def send(job):
        slug, n = job
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        base = bases[n % len(bases)]
        statuses.append(execute(sessions.session, base, keys[slug], sql, 0, f"{label}-{slug}-{n}").status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, jobs))
    submitted_s = time.monotonic() - started
    expected = len(jobs)
    deadline = time.monotonic() + 60 + expected * sleep * 2
    with psycopg.connect(CATALOG_DSN, autocommit=True) as catalog:
        while time.monotonic() < deadline:
            finished = catalog.execute(
                "SELECT count(*) FROM checks_checkexecution WHERE check_id LIKE %s AND state IN ('done','error')",
                (f"{label}-%",),
            ).fetchone()[0]
            if finished >= expected:
                break
            time.sleep(0.25)
        stop.set()
        prober.join()
        rows = catalog.execute(
            """SELECT o.slug, e.state, r.status, e.created_at, e.started_at, e.finished_at
               FROM checks_checkexecution e JOIN orgs_organization o ON o.id = e.organization_id
               LEFT JOIN checks_checkresult r ON r.id = e.result_id
               WHERE e.check_id LIKE %s""",
            (f"{label}-%",),
        ).fetchall()
        # For each quiet check: the flood's messages in the broker ahead of it when it was sent there
        # (sent before it, started after): the slots the flood made it wait.
        ahead = [
            row[0]
            for row in catalog.execute(
                """SELECT (SELECT count(*) FROM checks_checkexecution f
                           WHERE f.organization_id = flood.id AND f.check_id LIKE %s
                             AND f.dispatched_at < q.dispatched_at AND f.started_at > q.dispatched_at)
                   FROM checks_checkexecution q, orgs_organization flood
                   WHERE flood.slug = 'flood' AND q.organization_id <> flood.id AND q.check_id LIKE %s""",
                (f"{label}-%", f"{label}-%"),
            ).fetchall()
        ]
    done = [row for row in rows if row[1] == "done" and row[2] == "pass"]
    first_start = min(row[4] for row in rows if row[4])
    last_finish = max(row[5] for row in rows if row[5])
    span = (last_finish - first_start).total_seconds()

    def waits(prefix):
        return [(row[4] - row[3]).total_seconds() / sleep for row in rows if row[0].startswith(prefix) and row[4]]

    quiet, flood = waits("quiet-"), waits("flood")
    probes = {
        name: {
            "n": len(values),
            "p50_ms": round(percentile([v for v, _ in values], 0.5), 1),
            "p95_ms": round(percentile([v for v, _ in values], 0.95), 1),
            "max_ms": round(max((v for v, _ in values), default=float("nan")), 1),
            "errors": sum(1 for _, ok in values if not ok),
        }
        for name, values in samples.items()
    }
    return {
        "checks": expected,
        "accepted_202": sum(1 for status in statuses if status == 202),
        "finished_pass": len(done),
        "all_finished": len(done) == expected,
        "submit_seconds": round(submitted_s, 2),
        "span_seconds": round(span, 2),
        "executions_per_s": round(len(done) / span, 2) if span else None,
        "quiet_wait_slots": {
            "p50": round(percentile(quiet, 0.5), 2),
            "p95": round(percentile(quiet, 0.95), 2),
            "max": round(max(quiet, default=float("nan")), 2),
        },
        "flood_messages_ahead_of_a_quiet_check": {
            "p50": percentile(ahead, 0.5) if ahead else None,
            "max": max(ahead, default=None),
        },
        "flood_wait_slots": {
            "p50": round(percentile(flood, 0.5), 2),
            "max": round(max(flood, default=float("nan")), 2),
        },
        "probes": probes,
    }


def latency_by_path(bases: dict, key, rounds) -> dict:
    """A quick check with idle workers on each path, interleaved; p50/p95 ms per request (201 with the result)."""
    session = requests.Session()
    samples = {name: [] for name in bases}
    for index in range(rounds + 20):
        for name, base in bases.items():
            started = time.perf_counter()
            response = execute(session, base, key, QUICK_SQL, 20, f"latency-{name}-{index}")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 201, response.text
            if index >= 20:
                samples[name].append(elapsed)
    return {
        name: {"p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 0.95), 2)}
        for name, v in samples.items()
    }


def added_latency(bases: dict, key, rounds):
    figures = latency_by_path(bases, key, rounds)
    reference = "before" if "before" in figures else "inline"
    figures["added_p50_ms"] = round(figures["queue"]["p50_ms"] - figures[reference]["p50_ms"], 2)
    figures["added_p95_ms"] = round(figures["queue"]["p95_ms"] - figures[reference]["p95_ms"], 2)
    figures["reference"] = reference
    figures["rounds"] = rounds
    return figures


def write_report(report):
    (ROOT / "docs" / "benchmarks-scale-out.json").write_text(json.dumps(report, indent=2) + "\n")
    a = report["args"]
    lines = [
        "## Check execution scale-out (bench/scale_out.py)",
        "",
        f"Generated on {report['generated_at']} in {report['total_seconds']} s on the shared 2-vCPU machine "
        f"(load average {report['load_average']} at the start). Two gunicorn nodes (2 workers x 4 threads each), "
        f"PostgreSQL catalog, RabbitMQ; each Celery worker node runs a pool of {a['worker_threads']} threads. "
        f"Load: {QUIET_ORGS} quiet organizations x {a['quiet_checks']} checks plus one organization sending "
        f"{a['flood_checks']} (sent first), every check `SELECT 0 AS violations FROM pg_sleep({a['sleep']})` on a "
        "PostgreSQL warehouse through the allow-list and a least-privilege role; all organizations on the team plan "
        "(check_concurrency 10). A slot = one check's duration "
        f"({a['sleep']} s). Figures in `docs/benchmarks-scale-out.json`.",
        "",
        "| Worker nodes | Checks finished | Executions/s | vs 1 worker | /health p95 | /organizations/me p95 "
        "| Flood's messages ahead of a quiet check, max | Quiet orgs' wait p50 / p95 / max (slots) "
        "| Flood's wait p50 / max (slots) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    one = report["phases"].get("1", {}).get("executions_per_s")
    for workers, phase in report["phases"].items():
        ratio = f"{phase['executions_per_s'] / one:.2f}x" if one and phase["executions_per_s"] else "-"
        q, f, p = phase["quiet_wait_slots"], phase["flood_wait_slots"], phase["probes"]
        lines.append(
            f"| {workers} | {phase['finished_pass']} of {phase['checks']} | {phase['executions_per_s']} | {ratio} "
            f"| {p['health']['p95_ms']} ms | {p['organizations/me']['p95_ms']} ms "
            f"| {phase['flood_messages_ahead_of_a_quiet_check']['max']} "
            f"| {q['p50']} / {q['p95']} / {q['max']} | {f['p50']} / {f['max']} |"
        )
    baseline = report.get("without_flood")
    if baseline:
        q = baseline["quiet_wait_slots"]
        with_flood = report["phases"].get(str(a["baseline_workers"]), {}).get("quiet_wait_slots", {})
        lines += [
            "",
            f"Without the flooding organization ({a['baseline_workers']} worker nodes, the quiet load alone): quiet "
            f"organizations' wait p50 / p95 / max {q['p50']} / {q['p95']} / {q['max']} slots; with the flood "
            f"{with_flood.get('p50')} / {with_flood.get('p95')} / {with_flood.get('max')}. What the flood of "
            f"{a['flood_checks']} checks adds to a quiet organization's wait is the difference.",
        ]
    latency = report.get("added_latency")
    if latency:
        names = {
            "before": "In-process, before this change (main's code: the check runs in the request)",
            "inline": "In-process with the execution bookkeeping (`CHECK_EXECUTION_BACKEND=inline`)",
            "queue": "Through RabbitMQ and an idle worker (this change)",
        }
        lines += [
            "",
            f"Added latency of a quick check (`{QUICK_SQL}`, 1,000 rows), {latency['rounds']} requests per path, "
            "interleaved, `wait_seconds` 20 (201 with the result), one gunicorn node per path:",
            "",
            "| Path | p50 | p95 |",
            "|---|---|---|",
        ]
        for name in ("before", "inline", "queue"):
            if name in latency:
                lines.append(f"| {names[name]} | {latency[name]['p50_ms']} ms | {latency[name]['p95_ms']} ms |")
        lines.append(
            f"| **Added (queue - {latency['reference']})** | **{latency['added_p50_ms']} ms** "
            f"| **{latency['added_p95_ms']} ms** |"
        )
    lines.append("")
    (ROOT / "docs" / "benchmarks-scale-out.md").write_text("\n".join(lines))


def begin(args, name: str) -> tuple[dict, str, dict, dict]:
    """A run's start, shared with bench/check_queue_latency.py: the report's header, a check queue of the
    run's own, the environment of the processes it starts, and the catalog's API keys by name, on
    prepared databases (`args.fresh`: dropped and migrated anew)."""
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    report = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": round(os.getloadavg()[0], 1),
        "args": vars(args),
    }
    queue = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    env = base_env(queue)
    log("preparing the catalog and warehouse databases")
    prepare_databases(args.fresh)
    return report, queue, env, setup_catalog(env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--quiet-checks", type=int, default=20)
    parser.add_argument("--flood-checks", type=int, default=200)
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--baseline-workers", type=int, default=2)
    parser.add_argument("--latency-rounds", type=int, default=200)
    parser.add_argument(
        "--before-tree",
        help="a checkout of the code before this change (git archive main | tar -x -C DIR): its in-process path "
        "is the latency reference",
    )
    parser.add_argument("--fresh", action="store_true", help="drop and re-migrate the catalog database")
    args = parser.parse_args()
    args.sleep = max(0.05, min(args.sleep, 5))
    args.quiet_checks = max(1, min(args.quiet_checks, 100))
    args.flood_checks = max(0, min(args.flood_checks, 1000))
    worker_counts = [max(1, min(int(n), 8)) for n in args.workers.split(",")]
    started = time.monotonic()
    report, queue, env, keys = begin(args, "scale")
    report["phases"] = {}
    processes = Processes()
    try:
        bases = [start_web(processes, env, free_port(), f"web-{n}") for n in range(2)]
        for count in worker_counts:
            wait_until_idle()
            workers = start_workers(processes, env, count, args.worker_threads, queue)
            # Warm-up: each worker thread's first check opens its connections.
            session = requests.Session()
            for index in range(count * args.worker_threads * 2):
                execute(session, bases[index % 2], keys["quiet-0"], QUICK_SQL, 0, f"warm{count}-{index}")
            wait_until_idle(60)
            log(f"{count} worker node(s): load")
            report["phases"][str(count)] = load_phase(
                bases, keys, args.sleep, args.quiet_checks, args.flood_checks, f"w{count}"
            )
            log(json.dumps(report["phases"][str(count)]))
            if count == args.baseline_workers and args.flood_checks:
                wait_until_idle()
                log(f"{count} worker node(s): the quiet load alone")
                report["without_flood"] = load_phase(bases, keys, args.sleep, args.quiet_checks, 0, f"alone{count}")
                log(json.dumps(report["without_flood"]))
            if count == worker_counts[-1] and args.latency_rounds:
                wait_until_idle()
                paths = {"queue": bases[0]}
                paths["inline"] = start_web(processes, env, free_port(), "web-inline", CHECK_EXECUTION_BACKEND="inline")
                if args.before_tree:
                    paths["before"] = start_web(processes, env, free_port(), "web-before", cwd=args.before_tree)
                log("added latency: queue vs in-process")
                report["added_latency"] = added_latency(paths, keys["quiet-1"], args.latency_rounds)
                log(json.dumps(report["added_latency"]))
            for worker in workers:
                processes.stop(worker)
    finally:
        processes.stop_all()
        delete_queue(queue)
    report["total_seconds"] = round(time.monotonic() - started)
    write_report(report)
    print((ROOT / "docs" / "benchmarks-scale-out.md").read_text())


if __name__ == "__main__":
    main()
