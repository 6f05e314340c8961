"""Parallel OpenLineage batches racing the plan's monthly event quota (PostgreSQL, real threads, each
with its own connection and transaction as gunicorn's workers would have): the quota is never passed,
every accepted event is charged once, refused ones not at all, and the datasets they share never
deadlock the batches."""

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from lineage.models import OpenLineageEvent
from orgs.models import UsageCounter
from tests.lineage.factories import openlineage_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 4
PER_BATCH = 10


def start(source: str) -> dict:
    return openlineage_event(job=("race", "shared_job"), inputs=[source, "raw.shared"], outputs=["mart.shared"])


def post_in_parallel(key: str, batches: list[list[dict]]) -> list[dict]:
    answers: list = [None] * len(batches)
    barrier = threading.Barrier(len(batches))

    def client_thread(index):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            barrier.wait()
            response = client.post(
                "/api/v1/lineage/batch", data=json.dumps(batches[index]), content_type="application/json"
            )
            answers[index] = (response.status_code, response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_parallel_batches_never_pass_the_monthly_event_quota(org_a, make_key, settings):
    cache.clear()
    limit = 25
    team = settings.PLAN_LIMITS["team"]
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "team": {**team, "openlineage_events_per_month": limit}}
    key = make_key(org_a)
    batches = [[start(f"raw.{c}.{n}") for n in range(PER_BATCH)] for c in range(CLIENTS)]
    batches[0].append(batches[0][0])  # a redelivery: never charged
    batches[1].append({"eventType": "START", "producer": "p"})  # refused: never charged

    answers = post_in_parallel(key, batches)

    assert {status for status, _ in answers} == {200}, answers
    accepted = sum(body["accepted"] for _, body in answers)
    refusals = [item["reason"]["code"] for _, body in answers for item in body["events"] if item["status"] == "refused"]
    assert accepted == limit
    assert sorted(set(refusals)) == ["invalid", "plan_limit_reached"]
    duplicates = sum(body["duplicate"] for _, body in answers)
    # The redelivery is a duplicate when its original got in, else refused at the limit like it.
    assert duplicates + refusals.count("plan_limit_reached") == CLIENTS * PER_BATCH + 1 - limit
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == limit
    counter = UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month")
    assert counter.value == limit
    cache.clear()
