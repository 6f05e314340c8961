"""An OpenLineage event's edges are its inputs x outputs: a 60 KB event naming 500 inputs and 500 outputs
asked for 250,000 edge rows, and one of 8 MB (the event size cap) for billions, built in memory before
any insert. The product is capped (DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT): past it the event is
refused with its reason, alone in a batch."""

import json

import pytest
from rest_framework.test import APIClient

from lineage.models import LineageEdge, OpenLineageEvent
from orgs.models import Role
from tests.lineage.factories import openlineage_event


def event(inputs: int, outputs: int) -> dict:
    return openlineage_event(
        "COMPLETE",
        job=("n", "fan"),
        inputs=[f"in.{n}" for n in range(inputs)],
        outputs=[f"out.{n}" for n in range(outputs)],
    )


@pytest.fixture
def client(make_key, org_a, settings):
    settings.DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT = 12
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    return api


def test_an_event_within_the_edge_cap_is_accepted(client, org_a):
    response = client.post("/api/v1/lineage", event(4, 3), format="json")

    assert response.status_code == 201, response.content[:300]
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 12


def test_an_event_past_the_edge_cap_is_a_400_naming_it(client, org_a):
    response = client.post("/api/v1/lineage", event(4, 4), format="json")

    assert response.status_code == 400
    assert "DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT" in str(response.json())
    assert not OpenLineageEvent.objects.unscoped().filter(organization=org_a).exists()


def test_repeated_datasets_count_once(client, org_a):
    body = event(4, 3)
    body["inputs"] = body["inputs"] * 5

    assert client.post("/api/v1/lineage", body, format="json").status_code == 201


def test_in_a_batch_the_event_past_the_cap_is_refused_alone(client, org_a):
    body = json.dumps([event(2, 2), event(13, 1), event(1, 2)])

    response = client.post("/api/v1/lineage/batch", data=body, content_type="application/json")

    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 4  # the third repeats two
