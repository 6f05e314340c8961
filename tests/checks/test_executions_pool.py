"""The embedded mode (no broker): executions run in the in-process thread pool, admitted per organization.

Transactional tests: the pool's threads open their own database connections and must see committed rows.
A check is held "running" for as long as a test wants by an ACCESS EXCLUSIVE lock on the PostgreSQL
warehouse's orders table (the check's SELECT waits for it), then released by ending that transaction.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checks import dispatch, execution_services
from checks.models import CheckExecution, CheckResult
from orgs.models import Plan
from tests.checks.conftest import PG_WAREHOUSE_ADMIN_DSN
from tests.checks.factories import make_connection
from tests.checks.waiting import wait_for

# PostgreSQL only: the SQLite test database lives in memory with a shared cache, whose table locks fail at once
# across threads instead of waiting (a file database, as `make run` uses, waits; see test_executions_sqlite.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ORDERS_CHECK = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"


@pytest.fixture(autouse=True)
def _thread_pool(settings):
    settings.CHECK_EXECUTION_BACKEND = "threads"
    yield
    dispatch.shutdown_pool()


@pytest.fixture
def orders_held(pg_warehouse_dsn):
    """While this holds, every check reading `orders` waits; `release()` lets them all finish."""
    admin = psycopg.connect(PG_WAREHOUSE_ADMIN_DSN)
    admin.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")

    class Hold:
        @staticmethod
        def release():
            if not admin.closed:
                admin.rollback()
                admin.close()

    yield Hold
    Hold.release()


def warehouse(organization, pg_warehouse_dsn, timeout=20):
    return make_connection(
        organization, "pg", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": timeout}
    )


def execute(client, sql=ORDERS_CHECK, **body):
    body = {"connection_id": "pg", "check_id": "chk", "sql": sql, **body}
    return client.post("/api/v1/checks/execute", body, format="json")


def states(organization) -> dict[str, int]:
    found = {}
    for state in CheckExecution.objects.unscoped().filter(organization=organization).values_list("state", flat=True):
        found[state] = found.get(state, 0) + 1
    return found


def test_a_quick_check_answers_201_and_a_held_one_202_after_wait_seconds(client_a, org_a, pg_warehouse_dsn):
    warehouse(org_a, pg_warehouse_dsn)
    quick = execute(client_a)
    assert quick.status_code == 201, quick.content
    assert quick.json()["status"] == "fail"

    admin = psycopg.connect(PG_WAREHOUSE_ADMIN_DSN)
    admin.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    held = execute(client_a, wait_seconds=1)
    waited = time.monotonic() - started
    assert held.status_code == 202, held.content
    assert 1 <= waited < 4
    assert held.json()["state"] in ("queued", "running")
    admin.rollback()
    admin.close()
    wait_for(lambda: client_a.get(held["Location"]).json()["state"] == "done")
    assert client_a.get(held["Location"]).json()["result"]["violations"] == 1


def test_past_its_plans_concurrency_an_organization_queues_in_order_and_is_not_refused(
    make_org, make_client, pg_warehouse_dsn, orders_held
):
    free = make_org("free-org", plan=Plan.FREE)  # check_concurrency 2
    client = make_client(free)
    warehouse(free, pg_warehouse_dsn)
    answers = [execute(client, wait_seconds=0, check_id=f"chk-{n}") for n in range(5)]
    assert [answer.status_code for answer in answers] == [202] * 5
    wait_for(lambda: states(free).get("running") == 2)
    time.sleep(0.2)  # nothing else gets a slot meanwhile
    assert states(free) == {"running": 2, "queued": 3}

    orders_held.release()
    wait_for(lambda: states(free) == {"done": 5})
    executions = list(CheckExecution.objects.unscoped().filter(organization=free).order_by("created_at", "id"))
    assert [execution.check_id for execution in executions] == [f"chk-{n}" for n in range(5)]
    # Admission is serialized per organization: the oldest queued execution gets the first slot that frees.
    admitted = [execution.dispatched_at for execution in executions]
    assert admitted[2:] == sorted(admitted[2:]) and min(admitted[2:]) >= max(admitted[:2]), "oldest queued first"
    assert all(execution.result.violations == 1 for execution in executions)


def test_a_flooding_organization_does_not_hold_back_another_ones_check(
    make_org, make_client, pg_warehouse_dsn, orders_held, settings
):
    settings.CHECK_EXECUTION_THREADS = 4
    flooder, quiet = make_org("flooder", plan=Plan.FREE), make_org("quiet", plan=Plan.FREE)
    flooding, quiet_client = make_client(flooder), make_client(quiet)
    warehouse(flooder, pg_warehouse_dsn)
    warehouse(quiet, pg_warehouse_dsn)
    for n in range(8):
        assert execute(flooding, wait_seconds=0, check_id=f"flood-{n}").status_code == 202
    wait_for(lambda: states(flooder).get("running") == 2)

    started = time.monotonic()
    answer = execute(quiet_client, sql="SELECT 0 AS violations", wait_seconds=10)
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "pass"
    assert time.monotonic() - started < 2
    assert states(flooder) == {"running": 2, "queued": 6}, "the flood waits in its own queue, not the broker's"
    # Drained before the test's database is flushed: a finishing check admits the next one, on a pool that
    # the teardown's shutdown would no longer wait for (a flush racing it deadlocked under load).
    orders_held.release()
    wait_for(lambda: not {"queued", "dispatched", "running"} & set(states(flooder)), seconds=30)


def test_an_expired_lease_becomes_an_error_result_and_frees_the_slot(
    make_org, make_client, pg_warehouse_dsn, orders_held, settings
):
    organization = make_org("lost", plan=Plan.FREE)
    client = make_client(organization)
    warehouse(organization, pg_warehouse_dsn, timeout=20)
    # A lease that ends before its statement timeout: its worker counts as lost as soon as it starts.
    settings.CHECK_EXECUTION_LEASE_MARGIN_SECONDS = -21
    lost = execute(client, wait_seconds=0, check_id="lost").json()["execution_id"]
    wait_for(lambda: states(organization) == {"running": 1})
    settings.CHECK_EXECUTION_LEASE_MARGIN_SECONDS = 60

    assert execution_services.reap_and_admit() == 1
    shown = client.get(f"/api/v1/checks/executions/{lost}").json()
    assert shown["state"] == "error"
    assert shown["error_message"] == execution_services.WORKER_LOST_MESSAGE
    assert (shown["result"]["status"], shown["result"]["error_message"]) == (
        "error",
        execution_services.WORKER_LOST_MESSAGE,
    )
    # Its slot is free again: two new checks run at once although the lost one still waits on the lock.
    for _ in range(2):
        answer = execute(client, sql="SELECT 0 AS violations", wait_seconds=10)
        assert answer.status_code == 201, answer.content

    orders_held.release()
    dispatch.shutdown_pool()  # the lost check's thread ends; its late outcome does not replace the error
    assert CheckExecution.objects.unscoped().get(execution_id=lost).state == "error"
    assert (
        CheckResult.objects.unscoped()
        .filter(organization=organization, error_message__contains="worker stopped")
        .count()
        == 1
    )


def test_a_waiting_request_sleeps_until_the_workers_notice_and_reads_its_execution_once(
    client_a, org_a, pg_warehouse_dsn, orders_held
):
    warehouse(org_a, pg_warehouse_dsn)
    release = threading.Timer(0.6, orders_held.release)  # the check finishes after 0.6 s
    release.start()
    try:
        with CaptureQueriesContext(connection) as captured:
            answer = execute(client_a, wait_seconds=20)
    finally:
        release.cancel()
    assert answer.status_code == 201, answer.content
    statements = [query["sql"] for query in captured.captured_queries]
    reads = [sql for sql in statements if sql.startswith('SELECT "checks_checkexecution"."id"')]
    # Polling would have re-read it every few milliseconds for 0.6 s; LISTEN/NOTIFY reads it once, when woken.
    assert len(reads) == 1, reads
    assert any(sql.startswith("SET LOCAL synchronous_commit TO off; LISTEN") for sql in statements)
    assert any(sql.startswith("UNLISTEN") for sql in statements)
