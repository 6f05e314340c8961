"""Check executions through a real RabbitMQ broker and a real `celery -A config worker` process.

The worker runs as a subprocess on the test's own database (committed rows: transactional tests) and a
queue named for this test run, so parallel runs and xdist workers never take each other's messages. It
runs real checks against the local PostgreSQL warehouse through the allow-list and the checker role.
Skipped, with the reason, only when RabbitMQ does not answer on 127.0.0.1:5672 (CI starts it).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from kombu import Connection

from checks import execution_services
from checks.models import CheckExecution
from checks.tasks import reap_executions
from config.celery import app as celery_app
from orgs.models import Plan
from tests.checks.factories import make_connection
from tests.checks.waiting import wait_for

BROKER_URL = os.environ.get("DATAXPIPE_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
# Redis works as a broker too; tested when a server answers on 6379 (a database the cache does not use).
REDIS_BROKER_URL = os.environ.get("DATAXPIPE_TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/11")
ROOT = Path(__file__).resolve().parents[2]


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The worker opens the test database by name: an in-memory SQLite database has none.
    pytest.mark.postgres,
    pytest.mark.broker,
    pytest.mark.xdist_group("broker"),
    pytest.mark.skipif(not _answers(5672), reason="needs RabbitMQ on 127.0.0.1:5672 (.ci/run starts it)"),
]


@pytest.fixture
def broker_url():
    return BROKER_URL


@pytest.fixture
def queue_name(broker_url):
    name = f"dxp-test-{uuid.uuid4().hex[:12]}"
    yield name
    with Connection(broker_url, connect_timeout=3) as connection:
        connection.default_channel.queue_delete(name)


@pytest.fixture
def broker(settings, queue_name, broker_url):
    """This process publishes to the queue; the workers the test starts consume it."""
    settings.CHECK_EXECUTION_BACKEND = "celery"
    settings.CHECK_EXECUTION_QUEUE = queue_name
    if celery_app.conf.broker_url != broker_url:
        # The app's producer pool is bound to the broker it first published to: a test of another broker
        # gets fresh pools (the old ones are left to this process's exit; a closed kombu pool cannot reopen).
        celery_app.conf.broker_url = broker_url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    yield  # the pools stay open for the next broker test of this process


@pytest.fixture
def start_worker(queue_name, tmp_path, broker_url):
    """start_worker(**env) -> a running `celery -A config worker` process (stopped after the test)."""
    started = []
    database = django_settings.DATABASES["default"]

    def start(**extra_env):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "CHECK_EXECUTION_BACKEND": "celery",
            "CHECK_EXECUTION_QUEUE": queue_name,
            "DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS": "127.0.0.1/32",
            **{name: str(value) for name, value in extra_env.items()},
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue_name, "-c", "2"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def execute(client, **body):
    return client.post("/api/v1/checks/execute", {"connection_id": "pg", "check_id": "chk", **body}, format="json")


@pytest.mark.parametrize(
    "broker_url",
    [
        pytest.param(BROKER_URL, id="rabbitmq"),
        pytest.param(
            REDIS_BROKER_URL,
            id="redis",
            marks=pytest.mark.skipif(not _answers(6379), reason="needs Redis on 127.0.0.1:6379 for this broker"),
        ),
    ],
)
def test_a_worker_runs_checks_end_to_end(broker, start_worker, client_a, org_a, pg_warehouse_dsn):
    make_connection(org_a, "pg", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": 10})
    start_worker()
    # The first request waits while the worker boots; it answers 201 with the worker's result.
    answer = execute(client_a, sql="SELECT COUNT(*) AS violations FROM orders WHERE amount < 0", wait_seconds=60)
    assert answer.status_code == 201, answer.content
    assert (answer.json()["status"], answer.json()["violations"]) == ("fail", 1)

    queued = execute(client_a, sql="SELECT COUNT(*) FROM orders", threshold=10, wait_seconds=0)
    assert queued.status_code == 202
    wait_for(lambda: client_a.get(queued["Location"]).json()["state"] == "done", seconds=30)
    shown = client_a.get(queued["Location"]).json()
    assert (shown["result"]["status"], shown["result"]["violations"]) == ("pass", 4)
    assert shown["started_at"] is not None and shown["finished_at"] >= shown["started_at"]


def test_a_killed_worker_leaves_an_error_result_and_the_message_is_not_run_twice(
    broker, start_worker, make_org, make_client, pg_warehouse_dsn
):
    organization = make_org("killed", plan=Plan.FREE)
    client = make_client(organization)
    make_connection(organization, "pg", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": 30})
    # Leases of 2 s (the statement timeout, 30 s, plus a margin of -28 s): the test need not wait long.
    worker = start_worker(CHECK_EXECUTION_LEASE_MARGIN_SECONDS=-28)
    answer = execute(client, sql="SELECT 0 AS violations FROM pg_sleep(30)", wait_seconds=0)
    execution_id = answer.json()["execution_id"]
    wait_for(lambda: CheckExecution.objects.unscoped().get(execution_id=execution_id).state == "running", seconds=30)

    os.killpg(worker.pid, signal.SIGKILL)  # the whole node: main process and its children
    worker.wait()
    # The unacknowledged message goes back to the queue; a new worker receives it and sees it started.
    start_worker()
    time.sleep(3)
    assert CheckExecution.objects.unscoped().get(execution_id=execution_id).state == "running"
    assert reap_executions() == 1  # what `celery -A config beat` schedules every 30 s

    shown = client.get(f"/api/v1/checks/executions/{execution_id}").json()
    assert shown["state"] == "error"
    assert shown["result"]["status"] == "error"
    assert shown["result"]["error_message"] == execution_services.WORKER_LOST_MESSAGE
    # The slot is free and the new worker runs the organization's next check.
    after = execute(client, sql="SELECT 0 AS violations", wait_seconds=30)
    assert after.status_code == 201, after.content
    assert after.json()["status"] == "pass"


def test_the_broker_holds_one_waiting_message_per_organization(
    broker, start_worker, client_a, client_b, org_a, org_b, pg_warehouse_dsn
):
    """Admission sends an organization's next check only once a worker took the previous one: the broker's
    queue serves organizations in turn, and a flood is ahead of another organization's check by one at most."""
    for organization in (org_a, org_b):
        make_connection(organization, "pg", "postgres", {"dsn": pg_warehouse_dsn, "statement_timeout_seconds": 10})
    flood = [execute(client_a, sql="SELECT 0 AS violations", wait_seconds=0, check_id=f"flood-{n}") for n in range(6)]
    quiet = execute(client_b, sql="SELECT 0 AS violations", wait_seconds=0, check_id="quiet")
    assert [answer.status_code for answer in [*flood, quiet]] == [202] * 7
    # No worker yet: each organization has exactly one message in the broker, the rest wait in the database.
    assert sorted(CheckExecution.objects.unscoped().filter(organization=org_a).values_list("state", flat=True)) == [
        "dispatched",
        *["queued"] * 5,
    ]
    assert CheckExecution.objects.unscoped().get(organization=org_b).state == "dispatched"

    start_worker()
    wait_for(lambda: set(CheckExecution.objects.unscoped().values_list("state", flat=True)) == {"done"}, seconds=60)
    quiet_started = CheckExecution.objects.unscoped().get(organization=org_b).started_at
    flood_before_quiet = CheckExecution.objects.for_organization(org_a).filter(started_at__lt=quiet_started).count()
    assert flood_before_quiet <= 1, "the quiet organization's check waited behind the flood"
