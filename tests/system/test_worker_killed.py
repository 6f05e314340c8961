"""A gunicorn worker killed (SIGKILL) in the middle of a registration or a run event leaves no partial rows.

A private PostgreSQL server (tests/system/servers.py) gets a trigger that stalls the request's transaction
at a chosen point (pg_sleep after the first rows are written and before COMMIT); the test waits until the
worker's session is inside that transaction, kills the worker, waits for PostgreSQL to end the orphaned
session, and checks that the rows are all-or-nothing. Then, with the stall removed, the same request
succeeds on the worker gunicorn started in its place: no restart, nothing left to clean up.
"""

import json
import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.system.servers import Gunicorn, PrivatePostgres, create_schema, manage, postgres_bin_dir, server_env

pytestmark = pytest.mark.skipif(postgres_bin_dir() is None, reason="needs PostgreSQL's server binaries (initdb)")

SPEC = json.loads(
    (Path(__file__).resolve().parents[2] / "workflows/demo/fixtures/orders_sync_pipeline.json").read_text()
)
STALL_SECONDS = 4  # long enough to kill the worker inside the transaction; the orphan then ends by itself


@pytest.fixture(scope="module")
def stack():
    database = PrivatePostgres()
    database.start()
    env = server_env(database.url)
    create_schema(env)
    manage(env, "create_org", "killed", "--plan", "enterprise")
    admin_key = manage(env, "create_api_key", "killed", "ops", "--role", "admin").strip().splitlines()[-1]
    server = Gunicorn(env, workers=1)
    yield database, server, {"X-API-KEY": admin_key}
    server.stop()
    database.destroy()


def sql(database, statement, *params):
    with psycopg.connect(database.url, autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def counts(database) -> dict:
    tables = [
        "catalog_pipeline",
        "catalog_pipelineversion",
        "lineage_dataset",
        "lineage_lineageedge",
        "checks_checkdefinition",
        "catalog_run",
    ]
    return {table: sql(database, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


def stall(database, table, timing):
    sql(
        database,
        f"""
        CREATE OR REPLACE FUNCTION dxp_test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep({STALL_SECONDS}); RETURN NULL; END $$;
        DROP TRIGGER IF EXISTS dxp_test_stall ON {table};
        CREATE TRIGGER dxp_test_stall {timing} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dxp_test_stall();
    """,
    )


def unstall(database, table):
    sql(database, f"DROP TRIGGER IF EXISTS dxp_test_stall ON {table}")


def stalled_sessions(database) -> list:
    return sql(database, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND xact_start IS NOT NULL")


def open_transactions(database) -> list:
    return sql(
        database,
        "SELECT pid FROM pg_stat_activity WHERE xact_start IS NOT NULL "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )


def kill_worker_mid_transaction(database, server, send):
    """Sends the request from a thread, SIGKILLs the worker once its session sleeps in the trigger."""
    outcome = {}

    def client():
        try:
            outcome["response"] = send()
        except requests.RequestException as exc:
            outcome["error"] = exc

    workers = server.worker_pids()
    assert len(workers) == 1
    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    deadline = time.monotonic() + STALL_SECONDS
    while not stalled_sessions(database):
        assert time.monotonic() < deadline, "the request never reached the stalled transaction"
        time.sleep(0.05)
    os.kill(workers[0], signal.SIGKILL)
    thread.join(30)
    assert "error" in outcome, f"the client got an answer from a killed worker: {outcome}"
    # PostgreSQL ends the orphaned session (and rolls its transaction back) once the sleep returns.
    deadline = time.monotonic() + STALL_SECONDS + 20
    while open_transactions(database):
        assert time.monotonic() < deadline, "the killed worker's transaction stayed open"
        time.sleep(0.1)
    wait_for_worker(server, workers[0])


def wait_for_worker(server, killed_pid):
    deadline = time.monotonic() + 30
    while True:
        replacements = [pid for pid in server.worker_pids() if pid != killed_pid]
        if replacements:
            try:
                if requests.get(server.url + "/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.2)


def test_a_worker_killed_mid_registration_leaves_nothing_and_the_retry_registers(stack):
    database, server, headers = stack
    before = counts(database)
    # The check definitions are the registration's last write: pipeline, version, datasets and edges are in.
    stall(database, "checks_checkdefinition", "AFTER INSERT")
    try:
        kill_worker_mid_transaction(
            database,
            server,
            lambda: requests.post(server.url + "/api/v1/pipelines/", json=SPEC, headers=headers, timeout=30),
        )
    finally:
        unstall(database, "checks_checkdefinition")
    assert counts(database) == before

    retry = requests.post(server.url + "/api/v1/pipelines/", json=SPEC, headers=headers, timeout=30)
    assert retry.status_code == 201, retry.text
    after = counts(database)
    assert after["catalog_pipeline"] == before["catalog_pipeline"] + 1
    assert after["catalog_pipelineversion"] == before["catalog_pipelineversion"] + 1
    assert after["checks_checkdefinition"] == before["checks_checkdefinition"] + len(SPEC["checks"])
    assert after["lineage_lineageedge"] > before["lineage_lineageedge"]


def test_a_worker_killed_mid_run_event_leaves_no_run_and_no_count(stack):
    database, server, headers = stack
    if not sql(database, "SELECT 1 FROM catalog_pipeline WHERE name = 'orders_sync'"):
        assert requests.post(server.url + "/api/v1/pipelines/", json=SPEC, headers=headers, timeout=30).ok
    first = {"pipeline_id": "orders_sync", "run_id": "first", "status": "running"}
    assert requests.post(server.url + "/api/v1/runs/", json=first, headers=headers, timeout=30).status_code == 201
    used = "SELECT value FROM orgs_usagecounter WHERE metric = 'runs_per_month'"
    assert sql(database, used) == [(1,)]

    # The plan counter is the run event's last write: the run row is inserted, the count is being taken.
    stall(database, "orgs_usagecounter", "AFTER UPDATE")
    event = {"pipeline_id": "orders_sync", "run_id": "killed", "status": "running"}
    try:
        kill_worker_mid_transaction(
            database,
            server,
            lambda: requests.post(server.url + "/api/v1/runs/", json=event, headers=headers, timeout=30),
        )
    finally:
        unstall(database, "orgs_usagecounter")
    assert sql(database, "SELECT count(*) FROM catalog_run WHERE run_id = 'killed'") == [(0,)]
    assert sql(database, used) == [(1,)]

    retry = requests.post(server.url + "/api/v1/runs/", json=event, headers=headers, timeout=30)
    assert retry.status_code == 201, retry.text
    assert sql(database, "SELECT status FROM catalog_run WHERE run_id = 'killed'") == [("running",)]
    assert sql(database, used) == [(2,)]
