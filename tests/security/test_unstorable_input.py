"""Values PostgreSQL cannot store (a NUL character in text or JSONB) are the caller's bad input:
400, never the 503 of a database outage. Found by the schemathesis run on the OpenLineage route.
On SQLite, which stores NUL, the same requests simply succeed; either way, never a 5xx."""

import pytest

from tests.security.bodies import openlineage_event
from tests.security.world import example_spec

pytestmark = pytest.mark.django_db


def _ol_with_nul():
    event = openlineage_event("nul_job", "nul_input")
    event["job"]["facets"] = {"documentation": {"_producer": "x", "_schemaURL": "x", "description": "a\u0000b"}}
    return event


def _spec_with_nul():
    spec = example_spec(name="nul_pipe", version="1")
    spec["description"] = "orders\u0000sync"
    return spec


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/lineage", _ol_with_nul()),
        ("post", "/api/v1/pipelines/", _spec_with_nul()),
        ("get", "/api/v1/pipelines/?owner=%00", None),
        ("get", "/api/v1/pipelines/a%00b", None),
        ("get", "/api/v1/runs/run%00x", None),
        ("get", "/api/v1/lineage/clean%00orders", None),
    ],
)
def test_nul_characters_are_bad_input_not_an_outage(client_a, on_postgres, method, url, body):
    response = getattr(client_a, method)(url, body, format="json")
    assert response.status_code < 500, response.content
    if on_postgres and response.status_code == 400:
        assert response.json().get("code") in (None, "invalid_value")
