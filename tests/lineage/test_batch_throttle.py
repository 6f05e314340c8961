"""The OpenLineage event throttle (orgs.throttling.EventRateThrottle) on batches: a batch refused with
429 spends nothing, so what still fits in the minute's budget goes through."""

import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from orgs.models import Role
from tests.lineage.factories import openlineage_event


def ol_event():
    return openlineage_event(job=("t", "job"))


@pytest.fixture
def client(make_key, org_a, settings):
    cache.clear()
    settings.DATAXPIPE_OPENLINEAGE_THROTTLE_RATE = "10/min"
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    yield api
    cache.clear()


def post(client, count):
    body = json.dumps([ol_event() for _ in range(count)])
    return client.post("/api/v1/lineage/batch", data=body, content_type="application/json")


def test_a_batch_refused_by_the_throttle_spends_none_of_the_budget(client):
    assert post(client, 8).status_code == 200
    assert post(client, 5).status_code == 429

    assert post(client, 2).status_code == 200  # 8 + 2 = the budget of 10
    assert post(client, 1).status_code == 429


def test_after_a_refused_batch_a_single_event_still_fits(client):
    assert post(client, 9).status_code == 200
    assert post(client, 1000).status_code == 429

    assert client.post("/api/v1/lineage", ol_event(), format="json").status_code == 201
    assert client.post("/api/v1/lineage", ol_event(), format="json").status_code == 429
