"""POST /checks/execute through the execution queue, and GET /checks/executions/<id>.

The suite's executions run in the caller's thread (config/test_settings.py): these tests see the same
contract a client sees with a broker, minus the waiting (tests/checks/test_executions_pool.py and
test_executions_broker.py wait for real workers).
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checks import execution_services
from checks.models import LATENCY_BUCKETS, CheckExecution, CheckResult, ExecutionLatencyBucket
from orgs.errors import Conflict
from tests.checks.factories import make_connection, make_dataset, make_run, register_pipeline
from workflows.usage import organization_usage

NEGATIVE_AMOUNTS = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"


@pytest.fixture
def shop(org_a, sqlite_warehouse):
    return make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})


def execute(client, **body):
    return client.post("/api/v1/checks/execute", {"connection_id": "shop", "check_id": "chk", **body}, format="json")


def test_a_check_that_finishes_within_wait_seconds_answers_201_with_its_result(client_a, shop):
    response = execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=5)
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["violations"]) == ("fail", 1)
    execution = CheckExecution.objects.unscoped().get()
    assert (execution.state, execution.result.result_id) == ("done", response.json()["result_id"])
    assert execution.latency_ms is not None and execution.finished_at >= execution.created_at


def test_wait_seconds_zero_answers_202_with_a_location_that_shows_the_result(client_a, shop):
    response = execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=0)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["execution_id"].startswith("exe-")
    assert body["state"] in ("queued", "running", "done")
    assert response["Location"] == f"/api/v1/checks/executions/{body['execution_id']}"

    shown = client_a.get(response["Location"])
    assert shown.status_code == 200
    assert shown.json()["state"] == "done"
    assert (shown.json()["result"]["status"], shown.json()["result"]["violations"]) == ("fail", 1)
    assert shown.json()["result"]["result_id"] == CheckResult.objects.unscoped().get().result_id
    assert client_a.get(response["Location"] + "/").status_code == 200


@pytest.mark.parametrize("bad", [-1, 61, 1.5, "soon", True, None, [], {"s": 1}])
def test_a_bad_wait_seconds_is_a_400_naming_it_and_nothing_is_queued(client_a, shop, bad):
    response = execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=bad)
    assert response.status_code == 400, response.content
    assert "wait_seconds" in response.json()
    assert not CheckExecution.objects.unscoped().exists()
    assert not CheckResult.objects.unscoped().exists()


def test_refused_requests_are_answered_at_once_and_write_nothing(client_a, shop):
    unknown = execute(client_a, connection_id="nope", sql=NEGATIVE_AMOUNTS, wait_seconds=0)
    assert unknown.status_code == 400 and "connection_id" in unknown.json()
    unsafe = execute(client_a, sql="DELETE FROM orders", wait_seconds=0)
    assert unsafe.status_code == 400 and "sql" in unsafe.json()
    assert not CheckExecution.objects.unscoped().exists()
    assert organization_usage(shop.organization)["check_executions_per_month"] == 0


def test_the_monthly_quota_is_counted_when_asked_for_and_402_queues_nothing(client_a, shop, settings):
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "check_executions_per_month": 1},
    }
    assert execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=0).status_code == 202
    assert execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=0).status_code == 402
    assert CheckExecution.objects.unscoped().count() == 1
    assert organization_usage(shop.organization)["check_executions_per_month"] == 1


def test_a_recorded_result_id_answers_200_without_queueing_again(client_a, shop):
    first = execute(client_a, sql=NEGATIVE_AMOUNTS, result_id="res-nightly-1")
    again = execute(client_a, sql=NEGATIVE_AMOUNTS, result_id="res-nightly-1", wait_seconds=0)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["result_id"] == "res-nightly-1"
    assert CheckExecution.objects.unscoped().count() == 1


def test_another_organizations_execution_is_a_404(client_a, client_b, shop):
    location = execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=0)["Location"]
    assert client_b.get(location).status_code == 404
    assert client_a.get("/api/v1/checks/executions/exe-0000000000").status_code == 404


def test_the_execution_stores_the_request_and_no_secret(client_a, org_a, monkeypatch, sqlite_warehouse):
    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_TOKEN", "token-value-never-stored-9f8e")
    make_connection(
        org_a, "shop", "sqlite", {"path": str(sqlite_warehouse), "token_secret": "env:DATAXPIPE_SECRET_ORG_A_TOKEN"}
    )
    response = execute(client_a, sql=NEGATIVE_AMOUNTS, threshold=2, wait_seconds=0)
    assert response.status_code == 202, response.content
    execution = CheckExecution.objects.unscoped().get()
    assert execution.request == {"check_id": "chk", "connection_id": "shop", "sql": NEGATIVE_AMOUNTS, "threshold": 2.0}
    assert "token-value" not in str(CheckExecution.objects.unscoped().values().get())
    assert execution.result.status == "pass"


def test_a_201_reads_its_result_with_its_names_in_the_waits_own_query(client_a, org_a, shop):
    # The result's pipeline, run and dataset come joined to the execution the wait reads: no query for each after.
    pipeline = register_pipeline(org_a, "orders_sync")
    make_run(org_a, pipeline, "run-1")
    make_dataset(org_a, "orders")
    body = {"sql": NEGATIVE_AMOUNTS, "run_id": "run-1", "dataset": "orders", "wait_seconds": 5}
    with CaptureQueriesContext(connection) as captured:
        response = execute(client_a, **body)
    assert response.status_code == 201, response.content
    assert (response.json()["pipeline"], response.json()["run_id"], response.json()["dataset"]) == (
        "orders_sync",
        "run-1",
        "orders",
    )
    one_by_id = re.compile(r'FROM "(catalog_pipeline|catalog_run|lineage_dataset)" WHERE "\1"\."id" = ')
    queries = [query["sql"] for query in captured.captured_queries]
    assert [sql for sql in queries if one_by_id.search(sql)] == []


@pytest.mark.parametrize(
    ("refusal", "stored"),
    [
        # A plain message has no message_dict: it must not escape the worker (the execution would stay running).
        (ValidationError("The run was deleted."), "The run was deleted."),
        (
            ValidationError({"run_id": ["No run 'r' in this organization."], "__all__": ["Gone."]}),
            "run_id: No run 'r' in this organization.; Gone.",
        ),
        (ValidationError({"non_field_errors": ["Gone."]}), "Gone."),
        (Conflict(fields={"dataset": ["Renamed."]}), "dataset: Renamed."),
    ],
)
def test_a_refusal_at_run_time_becomes_the_executions_message_whatever_its_shape(
    client_a, shop, monkeypatch, refusal, stored
):
    def refuse(*args, **kwargs):
        raise refusal

    # Valid when asked for, refused when the worker runs it (its run deleted in between).
    monkeypatch.setattr(execution_services.services, "execute_check", refuse)
    execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=0)
    execution = CheckExecution.objects.unscoped().get()
    assert (execution.state, execution.error_message) == ("error", stored)


def test_a_quick_check_costs_a_fixed_number_of_statements_and_is_recorded_dispatched_at_once(client_a, shop):
    execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=5, check_id="first")  # caches
    # Every latency bucket's row exists (a bucket's first finish creates its row: one insert more).
    ExecutionLatencyBucket.objects.bulk_create(
        [ExecutionLatencyBucket(state="done", bucket=n) for n in range(len(LATENCY_BUCKETS) + 1)],
        ignore_conflicts=True,
    )
    with CaptureQueriesContext(connection) as captured:
        assert execute(client_a, sql=NEGATIVE_AMOUNTS, wait_seconds=5).status_code == 201
    statements = [query["sql"] for query in captured.captured_queries]
    # Request (5): key, check definition, connection, monthly quota, the wait's one read.
    # Admission (3): the organization's lock, one count, the insert already `dispatched` (SQLite's lock is a
    # write and a read: 4). Worker (9): read, start, anything queued?, definition, connection, result, finish,
    # its metrics row, anything queued? (PostgreSQL: 10, with the NOTIFY that wakes the waiting request.)
    # Savepoints (6): the test's transaction; in production the admission, the result and the finish are
    # transactions of their own (BEGIN/COMMIT).
    assert len(statements) == 24, statements
    admission = statements[statements.index(next(s for s in statements if "orgs_usagecounter" in s)) + 1 :]
    admission = admission[
        : next(n for n, s in enumerate(admission) if s.startswith('INSERT INTO "checks_checkexecution"'))
    ]
    assert not [s for s in admission if '"checks_checkexecution"' in s and not s.startswith("SELECT COUNT(")]
    assert [s for s in statements if s.startswith('UPDATE "checks_checkexecution" SET "state" = \'dispatched\'')] == []
