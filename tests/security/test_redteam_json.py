"""Red team: a deeply nested JSON body was a 500 (RecursionError) on six endpoints.

Every route the URL configuration exposes (tests/security/routes.py), under every write method,
now answers a body nested 5,000 levels deep with 400 naming the bound (DATAXPIPE_MAX_JSON_DEPTH),
and nothing is written anywhere. Two layers hold the bound: JsonDepthLimitMiddleware for every
view (dj-stripe's webhook parses the body itself), and BoundedJSONParser, DRF's default parser,
which also meets gzip-compressed OpenLineage bodies after decompression.
"""

import gzip
import json
import uuid
from collections import defaultdict

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from tests.security.bodies import OWN_BODIES, openlineage_event
from tests.security.routes import all_routes, api_routes, write_methods

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch")
# What a route may answer before it reads a body at all; anything else must be the depth refusal.
BEFORE_PARSING = {401, 403, 404, 405}


def nested_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def nested_array(levels: int) -> str:
    return "[" * levels + "]" * levels


def row_counts() -> dict:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models() if not model._meta.proxy}


def _url(route, world) -> str:
    kwargs = defaultdict(lambda: "1", world.path_kwargs(), uuid=str(uuid.uuid4()))
    return "/" + route.key.format_map(kwargs)


def _refusal_problem(response) -> str | None:
    if response.status_code in BEFORE_PARSING:
        return None
    if response.status_code != 400:
        return f"{response.status_code}: {response.content[:200]!r}"
    body = response.json()
    if body.get("code") != "json_too_deep" or body.get("max_depth") != 64 or "64" not in body.get("detail", ""):
        return f"400 without the depth bound: {body}"
    return None


@pytest.mark.parametrize(
    "body", [nested_object(5000), nested_array(5000), nested_object(900)], ids=["object", "array", "900"]
)
def test_every_route_refuses_a_deeply_nested_body(world_a, world_b, body):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys["admin"])
    before = row_counts()
    failures = []
    for route in all_routes():
        url = _url(route, world_a)
        for method in WRITES:
            response = client.generic(method.upper(), url, body, content_type="application/json")
            problem = _refusal_problem(response)
            if problem:
                failures.append(f"{method.upper()} {url}: {problem}")
    assert not failures, "\n".join(failures)
    assert row_counts() == before


def test_api_writes_refuse_it_in_the_parser_too(world_a, settings):
    """Without the middleware, DRF's default parser holds the bound on its own (defence in depth)."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "config.middleware.JsonDepthLimitMiddleware"]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys["admin"])
    before = row_counts()
    failures = []
    for route in api_routes():
        for method in write_methods(route):
            if OWN_BODIES.get((route.key, method)) is None:
                continue  # takes no body (a delete, a revoke, the billing portal): nothing to parse
            url = _url(route, world_a)
            response = client.generic(method.upper(), url, nested_object(5000), content_type="application/json")
            if response.status_code != 400 or response.json().get("code") != "json_too_deep":
                failures.append(f"{method.upper()} {url}: {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)
    assert row_counts() == before


def _deep_event(levels: int) -> str:
    """An OpenLineage event whose extra top-level field nests so that the whole body is levels + 1 deep."""
    return json.dumps(openlineage_event("orders_sync", "clean_orders"))[:-1] + ', "x": ' + nested_object(levels) + "}"


@pytest.fixture
def lineage_client(world_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world_a.keys['write']}")
    return client


def test_the_bound_is_exact_and_ordinary_bodies_pass(lineage_client):
    at_bound = lineage_client.post("/api/v1/lineage", _deep_event(63), content_type="application/json")
    assert at_bound.status_code in (200, 201), at_bound.content[:300]
    over = lineage_client.post("/api/v1/lineage", _deep_event(64), content_type="application/json")
    assert over.status_code == 400
    assert over.json()["code"] == "json_too_deep"


@pytest.mark.parametrize("levels", [64, 5000])
def test_gzipped_openlineage_bodies_meet_the_bound_after_decompression(lineage_client, levels):
    response = lineage_client.post(
        "/api/v1/lineage",
        gzip.compress(_deep_event(levels).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 400
    assert response.json()["max_depth"] == 64


def test_gzipped_openlineage_bodies_still_work(lineage_client):
    body = gzip.compress(json.dumps(openlineage_event("orders_sync", "clean_orders")).encode())
    response = lineage_client.post(
        "/api/v1/lineage", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code in (200, 201), response.content[:300]


def test_brackets_inside_strings_are_text(world_a):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys["write"])
    tricky = '[{"\\"' + "[" * 3000
    response = client.post(
        "/api/v1/checks/results",
        {"check_id": "adhoc", "status": "fail", "violations": 1, "message": tricky},
        format="json",
    )
    assert response.status_code == 201, response.content[:300]


def test_the_bound_is_a_setting(world_a, settings):
    settings.DATAXPIPE_MAX_JSON_DEPTH = 3
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys["write"])
    response = client.post("/api/v1/pipelines", OWN_BODIES[("api/v1/pipelines", "post")], format="json")
    assert response.status_code == 400
    assert response.json()["max_depth"] == 3
    assert "3 levels" in response.json()["detail"]


def test_admin_forms_are_not_scanned(client, django_user_model):
    """Form posts (the admin's login) carry no JSON: brackets in a field are not nesting."""
    response = client.post("/admin/login/", {"username": "[" * 200, "password": "{" * 200})
    assert response.status_code == 200
    assert "json_too_deep" not in response.content.decode()
