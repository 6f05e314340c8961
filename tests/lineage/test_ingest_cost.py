"""A START and a COMPLETE cost a bounded, small number of SQL statements, through the API, whatever the
number of datasets; the writes are set-based (PostgreSQL: the counts are its statements)."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import Run
from lineage.models import LineageEdge
from orgs.models import Role

# A real transaction per request (not the test's savepoints), as in production.
pytestmark = pytest.mark.django_db(transaction=True)

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def event(event_type, run_id, when, width=3):
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": "https://example.com/cost",
        "run": {"runId": run_id},
        "job": {"namespace": "cost", "name": "nightly_load"},
        "inputs": [{"namespace": "postgres://db:5432", "name": f"shop.public.src_{i}"} for i in range(width)],
        "outputs": [{"namespace": "postgres://db:5432", "name": f"shop.mart.dst_{i}"} for i in range(width)],
    }


def statements(captured) -> list[str]:
    return [q["sql"] for q in captured if not q["sql"].startswith(TRANSACTION_CONTROL)]


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    return api


def post(client, body):
    return client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("width", [1, 20])
def test_a_start_complete_pair_costs_at_most_10_statements_through_the_api(client, org_a, width):
    if connection.vendor != "postgresql":
        pytest.skip("the single-statement paths are PostgreSQL's; SQLite takes the general path")
    # The job's pipeline and the datasets exist already, as for every run of a scheduled job but the first.
    warm = str(uuid.uuid4())
    post(client, event("START", warm, "2026-11-26T05:00:00Z", width))
    post(client, event("COMPLETE", warm, "2026-11-26T05:05:00Z", width))
    run_id = str(uuid.uuid4())

    with CaptureQueriesContext(connection) as captured:
        start = post(client, event("START", run_id, "2026-11-26T06:00:00Z", width))
        complete = post(client, event("COMPLETE", run_id, "2026-11-26T06:05:00Z", width))

    assert (start.status_code, complete.status_code) == (201, 201)
    sent = statements(captured.captured_queries)
    print(f"{len(sent)} statements:", *(sql[:100] for sql in sent), sep="\n  ")
    assert len(sent) <= 10, "\n".join(sent)
    run = Run.objects.unscoped().get(organization=org_a, run_id=run_id)
    assert (run.status, run.started_at.hour, run.finished_at.minute) == ("success", 6, 5)
    assert complete.json()["edges"] == width * width
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == width * width
