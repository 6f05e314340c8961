"""50 deliveries of the same run event at once, on PostgreSQL: one run, counted once."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from catalog.models import Run
from orgs.models import UsageCounter

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50


def post_in_parallel(key, body, path="/api/v1/runs/", method="post"):
    barrier = threading.Barrier(THREADS)
    statuses = []
    lock = threading.Lock()

    def worker():
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            barrier.wait()
            code = getattr(client, method)(path, body, format="json").status_code
            with lock:
                statuses.append(code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_fifty_identical_start_events_make_one_run(org_a, make_key, register, example_spec):
    register(org_a, example_spec)
    body = {
        "pipeline_id": "orders_sync",
        "run_id": "scheduled__2025-06-01",
        "status": "running",
        "started_at": "2025-06-01T06:00:00Z",
    }
    statuses = post_in_parallel(make_key(org_a), body)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert Run.objects.unscoped().count() == 1
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="runs_per_month").value == 1


def test_fifty_finish_events_for_a_running_run_finish_it_once(org_a, make_key, register, example_spec):
    register(org_a, example_spec)
    key = make_key(org_a)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    client.post("/api/v1/runs/", {"pipeline_id": "orders_sync", "run_id": "r1", "status": "running"}, format="json")
    statuses = post_in_parallel(
        key, {"status": "success", "finished_at": "2025-06-01T07:00:00Z"}, path="/api/v1/runs/r1", method="patch"
    )
    assert statuses == [200] * THREADS
    run = Run.objects.unscoped().get()
    assert run.status == "success" and run.finished_at.isoformat() == "2025-06-01T07:00:00+00:00"
