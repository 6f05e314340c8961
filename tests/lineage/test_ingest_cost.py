"""A START and a COMPLETE cost a bounded, small number of SQL statements, through the API, whatever the
number of datasets; the writes are set-based (PostgreSQL: the counts are its statements)."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import Run
from lineage.models import LineageEdge, OpenLineageEvent
from orgs.models import Role
from tests.lineage.factories import openlineage_event

# A real transaction per request (not the test's savepoints), as in production.
pytestmark = pytest.mark.django_db(transaction=True)

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def event(event_type, run_id, when, width=3):
    return openlineage_event(
        event_type,
        run_id=run_id,
        when=when,
        job=("cost", "nightly_load"),
        namespace="postgres://db:5432",
        inputs=[f"shop.public.src_{i}" for i in range(width)],
        outputs=[f"shop.mart.dst_{i}" for i in range(width)],
    )


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


def batch_of(pairs: int, job: str, width: int = 3, start_minute: int = 0) -> list[dict]:
    events = []
    for number in range(pairs):
        run_id = str(uuid.uuid4())
        when = f"2026-11-26T06:{start_minute + number % 50:02d}"
        events.append(event("START", run_id, when + ":00Z", width) | {"job": {"namespace": "cost", "name": job}})
        events.append(event("COMPLETE", run_id, when + ":30Z", width) | {"job": {"namespace": "cost", "name": job}})
    return events


@pytest.mark.parametrize("pairs", [5, 250])
def test_a_batch_costs_the_same_few_statements_whatever_its_size(client, org_a, pairs):
    if connection.vendor != "postgresql":
        pytest.skip("the set-based batch path is PostgreSQL's; SQLite applies the events one by one")
    # The jobs' pipelines and the datasets exist already, as in a replay of a scheduled job's history.
    warm = client.post(
        "/api/v1/lineage/batch", data=json.dumps(batch_of(1, "nightly_load")), content_type="application/json"
    )
    assert warm.status_code == 200, warm.content
    events = batch_of(pairs, "nightly_load")

    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/lineage/batch", data=json.dumps(events), content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2 * pairs
    sent = statements(captured.captured_queries)
    print(f"{len(sent)} statements for {2 * pairs} events:", *(sql[:100] for sql in sent), sep="\n  ")
    # Key, stored events, quota, pipelines, runs (locking read, insert), datasets and edges: one each,
    # whether the batch holds 10 events or 500.
    assert len(sent) <= 7, "\n".join(sent)
    runs = Run.objects.unscoped().filter(organization=org_a, status="success")
    assert runs.count() == pairs + 1
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 2 * pairs + 2
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 3 * 3


def test_a_batch_with_a_secret_in_one_event_masks_it_and_stores_the_others_as_sent(client, org_a):
    plain = batch_of(1, "nightly_load")
    leaky = batch_of(1, "nightly_load", start_minute=10)
    for item in leaky:
        item["inputs"][0]["namespace"] = "postgres://etl:hunter2-password@db:5432"
        item["run"]["facets"] = {"token": {"value": "Bearer abc.def.ghi"}}

    response = client.post("/api/v1/lineage/batch", data=json.dumps(plain + leaky), content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 4
    stored = {
        row.run_id + row.event_type: json.dumps(row.payload)
        for row in OpenLineageEvent.objects.unscoped().filter(organization=org_a)
    }
    leaked = [text for text in stored.values() if "hunter2" in text or "abc.def.ghi" in text]
    assert leaked == []
    assert sum("[redacted]" in text for text in stored.values()) == 2
    assert json.loads(stored[plain[0]["run"]["runId"] + "START"]) == plain[0]
