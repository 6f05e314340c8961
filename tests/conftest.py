"""Shared fixtures: organizations, keys of each role, and API clients that carry them.

Tests talk to the real database named by DATABASE_URL (PostgreSQL in CI, SQLite otherwise).
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orgs import services
from orgs.models import Plan, Role


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (as .ci/run does)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_org(db):
    counter = {"n": 0}

    def make(slug=None, plan=Plan.TEAM):
        counter["n"] += 1
        return services.create_organization(slug=slug or f"org-{counter['n']}", plan=plan)

    return make


@pytest.fixture
def org_a(make_org):
    return make_org("org-a")


@pytest.fixture
def org_b(make_org):
    return make_org("org-b")


@pytest.fixture
def make_key(db):
    def make(organization, role=Role.ADMIN, **kwargs):
        _, full_key = services.create_api_key(organization=organization, name=f"{role}-key", role=role, **kwargs)
        return full_key

    return make


@pytest.fixture
def make_client(make_key):
    """make_client(org, role) -> an APIClient sending that organization's key in X-API-KEY."""

    def make(organization, role=Role.ADMIN):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=make_key(organization, role))
        return client

    return make


@pytest.fixture
def client_a(make_client, org_a):
    return make_client(org_a, Role.ADMIN)


@pytest.fixture
def client_b(make_client, org_b):
    return make_client(org_b, Role.ADMIN)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


# --- No secret anywhere: see tests/security/recorder.py ---------------------------------------


@pytest.fixture(autouse=True)
def _no_secret_in_responses_or_logs(request):
    from tests.security import recorder

    recorder.install()
    recorder.begin(request.node.nodeid)
    yield
    leaks = recorder.finish()
    if leaks:
        pytest.fail("secret leaked:\n" + "\n".join(leaks), pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.security import recorder

    if recorder.findings():
        terminalreporter.section("secrets leaked into responses or logs")
        for finding in recorder.findings():
            terminalreporter.write_line(finding)


def pytest_sessionfinish(session, exitstatus):
    from tests.security import recorder

    if recorder.findings() and session.exitstatus == 0:
        session.exitstatus = 1
