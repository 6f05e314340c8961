"""A batch whose events go in as one statement: an event PostgreSQL cannot store (a NUL character in
its text) is refused alone, with its reason, and the batch's other events are kept."""

import json

import pytest
from rest_framework.test import APIClient

from lineage.models import OpenLineageEvent
from orgs.models import Role
from tests.lineage.factories import openlineage_event

pytestmark = pytest.mark.django_db(transaction=True)


def ol_event(text="fine"):
    body = openlineage_event(job=("replay", "nightly"), inputs=["raw.a"], outputs=["mart.b"])
    body["job"]["facets"] = {"documentation": {"description": text}}
    return body


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    return api


def test_a_nul_character_refuses_its_event_only(client, org_a):
    events = [ol_event(), ol_event("a\u0000b"), ol_event("a literal \\u0000 is text"), ol_event()]

    response = client.post("/api/v1/lineage/batch", data=json.dumps(events), content_type="application/json")

    assert response.status_code == 200, response.content
    statuses = [item["status"] for item in response.json()["events"]]
    assert statuses == ["accepted", "refused", "accepted", "accepted"]
    assert "NUL" in json.dumps(response.json()["events"][1]["reason"])
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 3
