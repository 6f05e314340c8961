"""A PostgreSQL warehouse that hangs, refuses or drops the connection while a check runs.

The check must be recorded as `error` and the API must answer (no 500, no hung request). The warehouse
is the real PostgreSQL server of the test database; the faults come from real sockets on 127.0.0.1: a
listener that accepts and never answers, a closed port, a TCP relay to the real server that stops relaying
once the query has been sent, and `pg_terminate_backend` from another session while the query runs.
Each request runs in a thread with a generous join bound, so a hang fails the test instead of the CI job.
"""

import contextlib
import socket
import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from catalog.models import Connection
from checks.connectors import clear_cache
from checks.models import CheckResult
from tests import pg_warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT_SECONDS = 2
FAULTS_DB = f"{pg_warehouse.WAREHOUSE_DB}_faults"
FAULTS_ADMIN_DSN = pg_warehouse.admin_dsn(FAULTS_DB)
HANG_GUARD_SECONDS = 60  # far above any timeout involved: only a real hang reaches it


@pytest.fixture(scope="module", autouse=True)
def _warehouse_database():
    """A scratch warehouse database and its least-privilege role (checks never run as the superuser)."""
    pg_warehouse.create_warehouse(FAULTS_DB)
    yield
    clear_cache()
    pg_warehouse.drop_warehouse(FAULTS_DB)


@pytest.fixture(autouse=True)
def _loopback_warehouses_allowed(settings):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture(autouse=True)
def _fresh_connectors():
    clear_cache()
    yield
    clear_cache()
    # The sessions the faults left behind end by themselves; wait for them, or the test database cannot be dropped.
    with psycopg.connect(FAULTS_ADMIN_DSN, autocommit=True) as admin:
        for _ in range(100):
            left = admin.execute(
                "SELECT application_name, state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name LIKE 'dataxpipe-check:%%'"
            ).fetchall()
            if not left:
                return
            time.sleep(0.1)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name LIKE 'dataxpipe-check:%%'"
        )
        print("sessions left behind:", left)


def warehouse_dsn(host="127.0.0.1", port=None) -> str:
    """The scratch warehouse as a tenant registers it: the checker role, never the catalog's own database."""
    return pg_warehouse.checker_dsn(
        host=host, port=port or connection.settings_dict.get("PORT") or 5432, dbname=FAULTS_DB
    )


def add_warehouse(organization, connection_id, dsn):
    Connection.objects.create(
        organization=organization,
        connection_id=connection_id,
        type="postgres",
        config={"dsn": dsn, "statement_timeout_seconds": TIMEOUT_SECONDS},
    )


def execute_with_guard(key, payload):
    """POST /api/v1/checks/execute from another thread; fails the test if it has not answered in time."""
    outcome = {}

    def call():
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            outcome["response"] = client.post("/api/v1/checks/execute", payload, format="json")
        finally:
            connections.close_all()

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_SECONDS)
    assert not thread.is_alive(), "the API did not answer: the request hangs on the warehouse"
    return outcome["response"]


def assert_recorded_error(response, check_id):
    assert response.status_code in (201, 502), response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["error_message"]
    result = CheckResult.objects.unscoped().get(check_id=check_id)
    assert (result.status, result.violations) == ("error", None)
    return body


class SilentListener:
    """Accepts TCP connections, reads whatever comes, never answers (a warehouse stuck before the handshake)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                peer, _ = self.sock.accept()
                self.held.append(peer)

    def close(self):
        self.stopped.set()
        for peer in [*self.held, self.sock]:
            peer.close()


class StallingRelay:
    """Relays TCP to the real PostgreSQL server until the client sends bytes containing `marker`; from then on
    it relays nothing either way and keeps both sockets open (a warehouse or load balancer that went silent)."""

    def __init__(self, target_port, marker: bytes):
        self.target_port, self.marker = target_port, marker
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stalled = threading.Event()
        self.sockets = [self.sock]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.sock.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
                self.sockets += [client, server]
                threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source, destination, from_client):
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    return
                if from_client and self.marker in data:
                    self.stalled.set()
                if self.stalled.is_set():
                    continue  # swallowed: the peer waits for an answer that never comes
                destination.sendall(data)

    def close(self):
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked on it, and the server sees the end
            sock.close()


def test_a_warehouse_that_accepts_and_never_answers_is_an_error_result(org_a, make_key):
    listener = SilentListener()
    try:
        add_warehouse(org_a, "pg-silent", warehouse_dsn(port=listener.port))
        response = execute_with_guard(
            make_key(org_a), {"connection_id": "pg-silent", "sql": "SELECT 0", "check_id": "chk_silent"}
        )
    finally:
        listener.close()
    assert response.status_code == 502
    assert_recorded_error(response, "chk_silent")


def test_a_warehouse_that_refuses_the_connection_is_an_error_result(org_a, make_key):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    add_warehouse(org_a, "pg-refused", warehouse_dsn(port=closed_port))
    response = execute_with_guard(
        make_key(org_a), {"connection_id": "pg-refused", "sql": "SELECT 0", "check_id": "chk_refused"}
    )
    assert response.status_code == 502
    assert "refused" in assert_recorded_error(response, "chk_refused")["error_message"].lower()  # the uniform one


def test_a_warehouse_that_goes_silent_mid_query_is_an_error_result(org_a, make_key):
    relay = StallingRelay(int(connection.settings_dict.get("PORT") or 5432), marker=b"stall_here")
    try:
        add_warehouse(org_a, "pg-stall", warehouse_dsn(port=relay.port))
        response = execute_with_guard(
            make_key(org_a),
            {
                "connection_id": "pg-stall",
                "sql": "SELECT COUNT(*) AS stall_here FROM pg_sleep(0)",
                "check_id": "chk_stall",
            },
        )
    finally:
        relay.close()
    assert relay.stalled.is_set()
    assert_recorded_error(response, "chk_stall")


def test_a_connection_dropped_mid_query_is_an_error_result_and_the_next_check_runs(org_a, make_key):
    add_warehouse(org_a, "pg-drop", warehouse_dsn())
    key = make_key(org_a)
    done = threading.Event()
    killed = []

    def terminate_the_check_backend():
        # Another session ends the check's backend while its pg_sleep runs (and any retry's, too).
        with psycopg.connect(FAULTS_ADMIN_DSN, autocommit=True) as admin:
            while not done.is_set():
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'dataxpipe-check:pg-drop' AND query LIKE '%%pg_sleep(30)%%'"
                ).fetchall()
                killed.extend(rows)
                time.sleep(0.05)

    killer = threading.Thread(target=terminate_the_check_backend, daemon=True)
    killer.start()
    try:
        response = execute_with_guard(
            key, {"connection_id": "pg-drop", "sql": "SELECT 0 FROM pg_sleep(30)", "check_id": "chk_drop"}
        )
    finally:
        done.set()
        killer.join(10)
    assert killed, "the check's backend was never seen running"
    body = assert_recorded_error(response, "chk_drop")
    assert "terminat" in body["error_message"] or "closed" in body["error_message"]

    after = execute_with_guard(
        key, {"connection_id": "pg-drop", "sql": "SELECT 0 AS violations", "check_id": "chk_after"}
    )
    assert (after.status_code, after.json()["status"]) == (201, "pass")
