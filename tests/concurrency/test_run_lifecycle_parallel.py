"""Run events from real parallel clients on PostgreSQL: shuffled lifecycles and the monthly run limit.

Each client thread has its own APIClient and its own database connection and transaction, as
gunicorn's workers would; the events go through the whole API (authentication, validation, the
run state machine in catalog.services, the plan counter in orgs.limits).
The 50-identical-events and 50-identical-registrations races are in tests/catalog/test_*_concurrency.py.
"""

import queue
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from rest_framework.test import APIClient

from catalog.models import Run
from orgs.models import Plan, UsageCounter
from tests.catalog.conftest import small_spec
from workflows import pipeline_spec
from workflows.registration import register_pipeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
RUNS = 1000
FINAL_STATES = ("success", "failed", "cancelled", "running")
T0 = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    """The per-key rate limit (1,200/min) is not what these tests are about: a DAG fleet has several keys."""
    from orgs.throttling import PrincipalRateThrottle

    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "1000000/min"})


@pytest.fixture
def register():
    def register(organization, body):
        return register_pipeline(organization=organization, spec=pipeline_spec.parse(body))

    return register


def send_in_parallel(key, bodies, clients=CLIENTS):
    """POSTs every body to /api/v1/runs/ from `clients` threads pulling from one queue; returns the statuses."""
    work = queue.Queue()
    for index, body in enumerate(bodies):
        work.put((index, body))
    statuses = [None] * len(bodies)
    barrier = threading.Barrier(clients)

    def client_thread():
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            barrier.wait()
            while True:
                try:
                    index, body = work.get_nowait()
                except queue.Empty:
                    return
                response = client.post("/api/v1/runs/", body, format="json")
                statuses[index] = (response.status_code, response.content[:300])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def lifecycle(run_number, final):
    """The events one run's DAG sends, with the times it would report."""
    run_id = f"run-{run_number:04d}"
    started = T0 + timedelta(minutes=run_number)
    base = {"pipeline_id": "shuffle", "run_id": run_id}
    events = [{**base, "status": "queued"}, {**base, "status": "running", "started_at": started.isoformat()}]
    if final != "running":
        finished = started + timedelta(seconds=90)
        events.append({**base, "status": final, "finished_at": finished.isoformat()})
    return events


def test_a_thousand_shuffled_parallel_lifecycles_end_in_their_right_states(org_a, make_key, register):
    org_a.plan = Plan.ENTERPRISE
    org_a.save(update_fields=["plan"])
    register(org_a, small_spec("shuffle"))
    rng = random.Random(7)  # a fixed shuffle: a failure is reproducible
    finals = {f"run-{n:04d}": FINAL_STATES[n % len(FINAL_STATES)] for n in range(RUNS)}
    events = [event for n in range(RUNS) for event in lifecycle(n, finals[f"run-{n:04d}"])]
    rng.shuffle(events)

    statuses = send_in_parallel(make_key(org_a), events)

    answered = zip(events, statuses, strict=True)
    assert [(event, status) for event, status in answered if status[0] not in (200, 201)] == []
    assert sum(status == 201 for status, _ in statuses) == RUNS  # each run created exactly once
    runs = {run.run_id: run for run in Run.objects.unscoped().filter(organization=org_a)}
    assert len(runs) == RUNS
    wrong = {}
    for run_id, final in finals.items():
        run, number = runs[run_id], int(run_id[4:])
        started = T0 + timedelta(minutes=number)
        expected = (final, started, None if final == "running" else started + timedelta(seconds=90))
        if (run.status, run.started_at, run.finished_at) != expected:
            wrong[run_id] = ((run.status, run.started_at, run.finished_at), expected)
    assert wrong == {}
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="runs_per_month").value == RUNS


def test_parallel_new_runs_at_the_monthly_limit_never_pass_it(org_a, make_key, register, settings):
    limit = 30
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "team": {**settings.PLAN_LIMITS["team"], "runs_per_month": limit}}
    register(org_a, small_spec("shuffle"))
    key = make_key(org_a)
    warm_up = [{"pipeline_id": "shuffle", "run_id": f"before-{n}", "status": "running"} for n in range(limit - 5)]
    assert {status for status, _ in send_in_parallel(key, warm_up)} == {201}

    racers = [{"pipeline_id": "shuffle", "run_id": f"racer-{n}", "status": "running"} for n in range(40)]
    # The racers' duplicate deliveries too: a run that exists is never counted again.
    statuses = send_in_parallel(key, racers + racers[:10], clients=CLIENTS)

    codes = [status for status, _ in statuses]
    created = Run.objects.unscoped().filter(organization=org_a, run_id__startswith="racer-").count()
    assert created == 5
    assert codes.count(201) == 5
    assert set(codes) <= {200, 201, 402}
    assert Run.objects.unscoped().filter(organization=org_a).count() == limit
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="runs_per_month").value == limit
    refused = next(body for status, body in statuses if status == 402)
    assert b"plan_limit_reached" in refused
