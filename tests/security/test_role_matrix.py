"""Roles against every route under /api/: read, write and admin API keys, and OIDC users of each role.

The minimum role of every (route, method) is written down in REQUIRED_ROLE; the routes come
from the URL configuration, so a new route fails `test_every_api_route_has_a_required_role`
until its role is decided here. A caller below the role gets 403 and changes nothing; a caller
at or above it is let through (whatever the outcome of the request itself: 2xx, 400, 502, 503).

The OIDC provider is the local userinfo HTTP server of tests/orgs/test_oidc.py (the real
mozilla-django-oidc client talks to it); no network is used.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from orgs import services
from orgs.models import role_allows
from tests.orgs.test_oidc import UserinfoProvider, link, make_jwt
from tests.security.bodies import OWN_BODIES
from tests.security.routes import api_routes
from tests.security.test_cross_org import EXEMPT
from tests.security.world import diff, snapshot

pytestmark = pytest.mark.django_db

REQUIRED_ROLE = {
    ("api/v1/organizations/me", "get"): "read",
    ("api/v1/api-keys", "get"): "admin",
    ("api/v1/api-keys", "post"): "admin",
    ("api/v1/api-keys/{pk}", "get"): "admin",
    ("api/v1/api-keys/{pk}/revoke", "post"): "admin",
    ("api/v1/pipelines", "get"): "read",
    ("api/v1/pipelines", "post"): "write",
    ("api/v1/pipelines/{name}", "get"): "read",
    ("api/v1/pipelines/{name}/runs", "get"): "read",
    ("api/v1/pipelines/{name}/versions", "get"): "read",
    ("api/v1/pipelines/{name}/versions/{version}", "get"): "read",
    ("api/v1/runs", "post"): "write",
    ("api/v1/runs/batch", "post"): "write",
    ("api/v1/runs/{run_id}", "get"): "read",
    ("api/v1/runs/{run_id}", "patch"): "write",
    ("api/v1/connections", "get"): "read",
    ("api/v1/connections", "post"): "admin",
    ("api/v1/connections/{id}", "get"): "read",
    ("api/v1/connections/{id}", "put"): "admin",
    ("api/v1/connections/{id}", "patch"): "admin",
    ("api/v1/connections/{id}", "delete"): "admin",
    ("api/v1/checks/execute", "post"): "write",
    ("api/v1/checks/results", "get"): "read",
    ("api/v1/checks/results", "post"): "write",
    ("api/v1/checks/results/{result_id}", "get"): "read",
    ("api/v1/checks/executions/{execution_id}", "get"): "read",
    ("api/v1/lineage", "post"): "write",
    ("api/v1/lineage/batch", "post"): "write",
    ("api/v1/lineage/{dataset_id}", "get"): "read",
    ("api/v1/billing/checkout", "post"): "admin",
    ("api/v1/billing/portal", "post"): "admin",
    ("api/v1/alerts", "get"): "admin",
    ("api/v1/alerts", "post"): "admin",
    ("api/v1/alerts/{rule_id}", "get"): "admin",
    ("api/v1/alerts/{rule_id}", "patch"): "admin",
    ("api/v1/alerts/{rule_id}", "delete"): "admin",
    ("api/v1/alerts/{rule_id}/deliveries", "get"): "admin",
}
ROLES = ("read", "write", "admin")


def _operations():
    for route in api_routes():
        if route.key in EXEMPT:
            continue
        for method in route.methods:
            yield route, method


def test_every_api_route_has_a_required_role():
    missing = [f"{m.upper()} /{r.key}" for r, m in _operations() if (r.key, m) not in REQUIRED_ROLE]
    assert not missing, "Decide the role in tests/security/test_role_matrix.py::REQUIRED_ROLE:\n" + "\n".join(missing)
    writes = [(r.key, m) for r, m in _operations() if m != "get"]
    assert not [w for w in writes if w not in OWN_BODIES], "every write route needs a body in bodies.py"


def _run_matrix(world, client, role) -> list[str]:
    failures = []
    for route, method in _operations():
        required = REQUIRED_ROLE[(route.key, method)]
        url = route.path(**world.path_kwargs())
        with transaction.atomic():
            before = snapshot(world.organization)
            response = getattr(client, method)(url, OWN_BODIES.get((route.key, method)), format="json")
            changed = diff(before, snapshot(world.organization))
            transaction.set_rollback(True)
        status = response.status_code
        if role_allows(role, required):
            if status in (401, 403) or (status >= 500 and status not in (502, 503)):
                failures.append(
                    f"{role} {method.upper()} {url}: needs {required}, let through expected, got {status}"
                    f" {response.content[:200]!r}"
                )
        else:
            if status != 403:
                failures.append(f"{role} {method.upper()} {url}: needs {required}, expected 403, got {status}")
            if changed:
                failures.append(f"{role} {method.upper()} {url}: refused but changed {changed}")
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_api_key_roles(world_a, role):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys[role])
    failures = _run_matrix(world_a, client, role)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_api_key_roles_in_bearer_header(world_a, role):
    """OpenLineage clients send the key as a bearer token: the same roles apply."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world_a.keys[role]}")
    failures = _run_matrix(world_a, client, role)
    assert not failures, "\n".join(failures)


@pytest.fixture
def provider(settings):
    server = UserinfoProvider()
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_USER_ENDPOINT = server.url
    yield server
    server.close()


@pytest.mark.parametrize("role", ROLES)
def test_oidc_member_roles(world_a, provider, role):
    user = get_user_model().objects.create_user(username=f"{role}-user", email=f"{role}@example.com")
    services.add_member(organization=world_a.organization, user=user, role=role)
    link(user, user.username)
    token = make_jwt(user.username, time.time() + 600)
    provider.tokens[token] = {"sub": user.username, "email": user.email}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    failures = _run_matrix(world_a, client, role)
    assert not failures, "\n".join(failures)


def test_no_credentials_is_401_everywhere(world_a):
    failures = []
    for route, method in _operations():
        url = route.path(**world_a.path_kwargs())
        response = getattr(APIClient(), method)(url, OWN_BODIES.get((route.key, method)), format="json")
        if response.status_code != 401 or "WWW-Authenticate" not in response:
            failures.append(f"{method.upper()} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)
