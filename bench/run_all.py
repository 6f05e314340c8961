"""All the benchmarks in one run, against gunicorn on PostgreSQL: writes docs/benchmarks.md and docs/benchmarks.json.

    make bench                       # = /work/main/.venv/bin/python bench/run_all.py --reuse
    /work/main/.venv/bin/python bench/run_all.py [--reuse] [--mixed-seconds 30] [--skip lineage,checks,...]

Runs, one after the other in the same session (so that the ratios compare like with like on this shared
machine): bench/catalog_runs.py (run-event ingestion through the API vs raw psycopg inserts, run history
page 1 vs page 1,000), bench/lineage_graph.py (lineage depth 1/3/5 on 1,000,000 edges vs the array-overlap
query), bench/checks_execute.py (check execution through the API vs the bare query), bench/billing_limits.py
(plan-limit costs), bench/profile_run_events.py (CPU and SQL per run event), and a mixed load of its own:
client processes on loopback against gunicorn on the catalog bench database, with the error rate.
Each script's full output goes to var/bench/<name>.log; the figures are parsed from it.
With --reuse the bench databases that exist are kept (the first run without it loads them: ~10 minutes).
"""

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOGS = ROOT / "var" / "bench"
CATALOG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dxp_bench_catalog")
NUMBER = r"([\d.]+)"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_script(name, args, env=None, timeout=1500):
    LOGS.mkdir(parents=True, exist_ok=True)
    log(f"running bench/{name}.py {' '.join(args)}")
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, f"bench/{name}.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + ("\n" + result.stderr if result.returncode else "")
    (LOGS / f"{name}.log").write_text(output)
    seconds = time.perf_counter() - started
    if result.returncode:
        log(f"bench/{name}.py failed ({result.returncode}); see {LOGS / (name + '.log')}")
    return output, round(seconds), result.returncode


def parse_catalog(output):
    figures = {}
    page = re.search(rf"page 1 {NUMBER} ms, page (\d+) {NUMBER} ms -> ratio {NUMBER}x", output)
    if page:
        figures["run_history"] = {
            "page_1_p50_ms": float(page[1]),
            "deep_page": int(page[2]),
            "deep_page_p50_ms": float(page[3]),
            "deep_over_first": float(page[4]),
        }
    for match in re.finditer(
        rf"(\d+) concurrent client\(s\).*?API {NUMBER} run events/s.*?insert\+commit "
        rf"{NUMBER}/s.*?API at {NUMBER}x",
        output,
    ):
        figures[f"run_events_{match[1]}_clients"] = {
            "api_events_per_s": float(match[2]),
            "raw_inserts_per_s": float(match[3]),
            "api_over_raw": float(match[4]),
        }
    return figures


def parse_lineage(output):
    figures = {}
    for match in re.finditer(rf"API direction=both\s+depth=(\d): p50\s+{NUMBER} ms\s+p95\s+{NUMBER} ms", output):
        figures.setdefault(f"depth_{match[1]}", {}).update(api_p50_ms=float(match[2]), api_p95_ms=float(match[3]))
    for match in re.finditer(r"Marquez array-overlap depth=(\d): p50 (>= )?([\d.]+) ms.*?-> (>= )?([\d.]+)x", output):
        figures.setdefault(f"depth_{match[1]}", {}).update(
            array_overlap_p50_ms=float(match[3]),
            array_overlap_capped=bool(match[2]),
            array_overlap_over_api=float(match[5]),
        )
    graph = re.search(r"graph: ([\d,]+) edges, ([\d,]+) datasets", output)
    if graph:
        figures["edges"] = int(graph[1].replace(",", ""))
    return figures


def parse_checks(output):
    figures = {}
    for match in re.finditer(rf"^\s+(.+?)\s+p50\s+{NUMBER} ms\s+p90\s+{NUMBER} ms\s+p99\s+{NUMBER} ms", output, re.M):
        figures[match[1].strip()] = {"p50_ms": float(match[2]), "p90_ms": float(match[3]), "p99_ms": float(match[4])}
    ratios = {}
    for warehouse, direct in (("postgres", "postgres direct (psycopg)"), ("sqlite", "sqlite direct (sqlite3)")):
        if direct in figures and f"{warehouse} via API" in figures:
            api = figures[f"{warehouse} via API"]["p50_ms"]
            ratios[warehouse] = {
                "api_p50_ms": api,
                "bare_query_p50_ms": figures[direct]["p50_ms"],
                "api_over_bare": round(api / figures[direct]["p50_ms"], 1),
                "api_overhead_ms": round(api - figures[direct]["p50_ms"], 2),
            }
    return {"latencies": figures, "api_vs_bare_query": ratios}


def parse_billing(output):
    lines = [line.strip() for line in output.splitlines() if re.search(r"\d", line) and not line.startswith("[")]
    return {"lines": lines[:30]}


# --- The mixed load ------------------------------------------------------------------------------

MIX = [  # (weight, kind)
    (45, "run_history"),
    (20, "run_event"),
    (15, "pipeline_list"),
    (10, "run_detail"),
    (10, "organization_me"),
]


def _mixed_client(index, port, key, seconds, queue):
    import http.client

    rng = random.Random(index)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-API-KEY": key, "Content-Type": "application/json"}
    kinds = [kind for weight, kind in MIX for _ in range(weight)]
    samples, errors, prefix = {}, {}, uuid.uuid4().hex[:8]
    deadline, sequence = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline and sequence < 1_000_000:
        sequence += 1
        kind = rng.choice(kinds)
        pipeline = f"pipeline_{rng.randrange(1, 200):03d}"
        if kind == "run_history":
            calls = [("GET", f"/api/v1/pipelines/{pipeline}/runs?page_size=50", None)]
        elif kind == "run_event":
            body = {"pipeline_id": pipeline, "run_id": f"mix-{prefix}-{sequence}", "status": "running"}
            calls = [("POST", "/api/v1/runs/", body), ("POST", "/api/v1/runs/", {**body, "status": "success"})]
        elif kind == "pipeline_list":
            calls = [("GET", "/api/v1/pipelines/?page_size=20", None)]
        elif kind == "run_detail":
            calls = [("GET", f"/api/v1/runs/bench-{rng.randrange(1, 1_000_000)}", None)]
        else:
            calls = [("GET", "/api/v1/organizations/me", None)]
        for method, path, body in calls:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
                response = conn.getresponse()
                response.read()
                failed = response.status >= 400
            except (OSError, http.client.HTTPException):
                failed = True
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            samples.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            if failed:
                errors[kind] = errors.get(kind, 0) + 1
    queue.put((samples, errors))


def mixed_load(clients, seconds):
    sys.path.insert(0, str(ROOT / "bench"))
    import catalog_runs

    state = catalog_runs.state_from_database(CATALOG_URL)
    server, port = catalog_runs.start_server(CATALOG_URL)
    try:
        queue = multiprocessing.Queue()
        processes = [
            multiprocessing.Process(target=_mixed_client, args=(i, port, state["key"], seconds, queue))
            for i in range(clients)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        results = [queue.get(timeout=seconds + 120) for _ in processes]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join(30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    samples, errors = {}, {}
    for part_samples, part_errors in results:
        for kind, values in part_samples.items():
            samples.setdefault(kind, []).extend(values)
        for kind, count in part_errors.items():
            errors[kind] = errors.get(kind, 0) + count
    total = sum(len(values) for values in samples.values())
    failed = sum(errors.values())
    per_kind = {
        kind: {
            "requests": len(values),
            "errors": errors.get(kind, 0),
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1], 2),
        }
        for kind, values in sorted(samples.items())
    }
    return {
        "client_processes": clients,
        "seconds": round(elapsed, 1),
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "errors": failed,
        "error_rate": round(failed / total, 5) if total else None,
        "by_kind": per_kind,
        "mix_percent": {kind: weight for weight, kind in MIX},
        "server": "gunicorn 3 workers x 4 threads, DJANGO_DEBUG=0, dxp_bench_catalog (1,000,000 runs)",
    }


# --- The report ----------------------------------------------------------------------------------


def write_report(report):
    (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n")
    # What follows is generated; hand-written analysis lives in docs/benchmarks-notes.md and is appended.
    r = report["results"]
    lines = [
        "# Benchmarks: one run, side by side",
        "",
        f"Generated by `make bench` (`bench/run_all.py`) on {report['generated_at']} in {report['total_seconds']} s; "
        "machine-readable figures in `docs/benchmarks.json`, each script's full output in `var/bench/*.log`.",
        f"Machine: {report['machine']}. It is shared (other engineers' tests run on it): compare the ratios, "
        "which were measured in the same minutes, rather than the absolute times.",
        "",
        "| Measure | This service | Baseline | Ratio |",
        "|---|---|---|---|",
    ]
    catalog = r.get("catalog", {})
    history = catalog.get("run_history")
    if history:
        lines.append(
            f"| Run history p50, page {history['deep_page']:,} vs page 1 (cursor) | "
            f"{history['deep_page_p50_ms']:.2f} ms | {history['page_1_p50_ms']:.2f} ms | "
            f"**{history['deep_over_first']:.2f}x** |"
        )
    for clients in (8, 1):
        events = catalog.get(f"run_events_{clients}_clients")
        if events:
            lines.append(
                f"| Run events through the API vs raw psycopg INSERT+COMMIT, {clients} client(s) | "
                f"{events['api_events_per_s']:.0f}/s | {events['raw_inserts_per_s']:.0f}/s | "
                f"**{events['api_over_raw']:.2f}x** |"
            )
    lineage = r.get("lineage", {})
    for depth in (1, 3, 5):
        row = lineage.get(f"depth_{depth}")
        if row and "array_overlap_p50_ms" in row:
            capped = ">= " if row["array_overlap_capped"] else ""
            lines.append(
                f"| Lineage depth {depth} on {lineage.get('edges', 0):,} edges: API p50 vs array-overlap "
                f"query | {row['api_p50_ms']:.1f} ms | {capped}{row['array_overlap_p50_ms']:.0f} ms | "
                f"**{capped}{row['array_overlap_over_api']:.0f}x faster** |"
            )
        elif row:
            lines.append(f"| Lineage depth {depth}: API p50 | {row['api_p50_ms']:.1f} ms | | |")
    for warehouse, row in r.get("checks", {}).get("api_vs_bare_query", {}).items():
        lines.append(
            f"| Check execution through the API vs the bare query ({warehouse}) | {row['api_p50_ms']:.2f} ms "
            f"| {row['bare_query_p50_ms']:.2f} ms | **{row['api_over_bare']}x** "
            f"(+{row['api_overhead_ms']} ms) |"
        )
    mixed = r.get("mixed_load")
    if mixed:
        lines.append(
            f"| Mixed load, {mixed['client_processes']} client processes, {mixed['seconds']} s | "
            f"{mixed['requests_per_s']:.0f} requests/s | | **error rate {mixed['error_rate']:.3%}** "
            f"({mixed['errors']} of {mixed['requests']:,}) |"
        )
    profile = r.get("run_event_profile")
    if profile:
        lines.append(
            f"| One run event in-process (profile_run_events.py) | {profile['cpu_ms_per_event']:.2f} ms CPU, "
            f"{profile['sql_per_create_and_finish']} SQL statements for a create + a finish | | |"
        )
    billing = r.get("billing", {}).get("lines")
    if billing:
        lines += ["", "## Plan limits (bench/billing_limits.py, as printed)", "", "```", *billing, "```"]
    if mixed:
        lines += [
            "",
            "## Mixed load by request kind",
            "",
            "| Kind | Share | Requests | Errors | p50 | p95 |",
            "|---|---|---|---|---|---|",
        ]
        for kind, row in mixed["by_kind"].items():
            lines.append(
                f"| {kind} | {mixed['mix_percent'][kind]}% | {row['requests']:,} | {row['errors']} | "
                f"{row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms |"
            )
        lines.append("")
        lines.append(
            "A `run_event` is two requests (the `running` event that creates the run, then its `success`). "
            f"Server: {mixed['server']}; the client processes share the same 2 vCPUs."
        )
    lines += [
        "",
        "## How each figure is measured",
        "",
        "- Run history and run events: `bench/catalog_runs.py --reuse` (docs/benchmarks-catalog.md).",
        "- Lineage: `bench/lineage_graph.py --reuse` (docs/benchmarks-lineage.md).",
        "- Check execution: `bench/checks_execute.py` (docs/benchmarks-checks.md).",
        "- Plan limits: `bench/billing_limits.py` (docs/benchmarks-billing.md); its figures are in the JSON.",
        "- Mixed load and run-event profile: `bench/run_all.py`, `bench/profile_run_events.py`.",
        "- Check execution scale-out (workers, fairness, added latency): `bench/scale_out.py`, run on its own.",
        "",
        "Durations of each step (s): " + ", ".join(f"{k} {v}" for k, v in report["durations_s"].items()),
        "",
    ]
    if report.get("failures"):
        lines += ["Steps that failed in this run: " + ", ".join(report["failures"]), ""]
    # Written by bench/scale_out.py (its own run: workers started and stopped, ~10 min), kept across runs here.
    scale_out = ROOT / "docs" / "benchmarks-scale-out.md"
    if scale_out.exists():
        lines += [scale_out.read_text()]
    extra = ROOT / "docs" / "benchmarks-notes.md"
    if extra.exists():
        lines += [extra.read_text()]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep the bench databases that are already loaded")
    parser.add_argument("--mixed-seconds", type=int, default=30)
    parser.add_argument("--mixed-clients", type=int, default=4)
    parser.add_argument("--skip", default="", help="comma-separated: catalog,lineage,checks,billing,profile,mixed")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite docs/benchmarks.md from docs/benchmarks.json (and docs/benchmarks-notes.md)",
    )
    args = parser.parse_args()
    if args.render_only:
        write_report(json.loads((ROOT / "docs" / "benchmarks.json").read_text()))
        return
    skip = set(filter(None, args.skip.split(",")))
    reuse = ["--reuse"] if args.reuse else []
    began = time.perf_counter()
    report = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} vCPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start",
        "results": {},
        "durations_s": {},
        "failures": [],
    }
    steps = [
        ("catalog", "catalog_runs", reuse, parse_catalog, {"BENCH_DATABASE_URL": CATALOG_URL}),
        ("lineage", "lineage_graph", reuse, parse_lineage, {}),
        ("checks", "checks_execute", [], parse_checks, {}),
        (
            "billing",
            "billing_limits",
            ["--runs", "20000", "--calls", "500"],
            parse_billing,
            {"DATABASE_URL": CATALOG_URL.rsplit("/", 1)[0] + "/dxp_bench_billing"},
        ),
        (
            "run_event_profile",
            "profile_run_events",
            ["--json"],
            lambda out: json.loads(out.strip().splitlines()[-1]),
            {"BENCH_DATABASE_URL": CATALOG_URL},
        ),
    ]
    for key, script, script_args, parse, env in steps:
        if key in skip or (key == "run_event_profile" and "profile" in skip):
            continue
        if key == "billing":
            _ensure_billing_database(env["DATABASE_URL"])
        output, seconds, code = run_script(script, script_args, env)
        report["durations_s"][key] = seconds
        try:
            report["results"][key] = parse(output)
        except (ValueError, IndexError, KeyError) as exc:
            report["failures"].append(f"{key} ({exc.__class__.__name__})")
        if code:
            report["failures"].append(key)
        log(f"{key}: {json.dumps(report['results'].get(key))[:400]}")
    if "mixed" not in skip:
        log(f"mixed load: {args.mixed_clients} client processes for {args.mixed_seconds}s")
        started = time.perf_counter()
        report["results"]["mixed_load"] = mixed_load(args.mixed_clients, args.mixed_seconds)
        report["durations_s"]["mixed_load"] = round(time.perf_counter() - started)
        log(f"mixed: {json.dumps(report['results']['mixed_load'])[:400]}")
    report["total_seconds"] = round(time.perf_counter() - began)
    write_report(report)
    log(f"wrote docs/benchmarks.md and docs/benchmarks.json in {report['total_seconds']} s")


def _ensure_billing_database(url):
    """billing_limits.py runs in-process on DATABASE_URL: a small migrated database of its own, kept between runs."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1"}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=900)


if __name__ == "__main__":
    main()
