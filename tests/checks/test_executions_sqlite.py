"""The embedded mode on a SQLite file, as `make run` serves it: eight threads ask for executions at the same
instant, and admission still keeps the organization within its plan's check_concurrency (SQLite has no row
locks: a write first takes the database's write lock). Runs in a child process: the suite's own SQLite
database lives in memory, where threads cannot wait for each other's locks."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.checks.conftest import PG_WAREHOUSE_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[2]


def test_parallel_admission_on_a_sqlite_file_respects_the_cap(tmp_path, pg_warehouse_dsn):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CHECK_EXECUTION_BACKEND")}
    program = [sys.executable, "-m", "tests.checks.sqlite_embedded", str(tmp_path / "catalog.sqlite3")]
    completed = subprocess.run(
        [*program, pg_warehouse_dsn, PG_WAREHOUSE_ADMIN_DSN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert outcome["most_in_slots"] == 2, outcome
    assert outcome["states_while_held"] == ["queued"] * 6 + ["running"] * 2
    assert outcome["states_after"] == ["done"] * 8
    assert outcome["violations"] == [4.0] * 8  # the warehouse's four orders, counted by every check
