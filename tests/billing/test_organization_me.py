"""GET /api/v1/organizations/me: the caller's plan, its limits, this month's usage and billing state."""

import pytest
from django.conf import settings as django_settings

from billing.services import set_plan_by_staff
from orgs import limits, services
from orgs.models import Plan, Role
from tests.billing.fake_stripe import make_event


@pytest.mark.parametrize("path", ["/api/v1/organizations/me", "/api/v1/organizations/me/"])
def test_me_shows_plan_limits_and_usage(make_org, make_client, path):
    organization = make_org("acme", plan=Plan.TEAM)
    client = make_client(organization, Role.READ)
    services.create_api_key(organization=organization, name="second")
    limits.consume_monthly(organization, "runs_per_month", amount=7)

    response = client.get(path)

    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["plan"], body["role"]) == ("acme", "team", "read")
    assert body["limits"] == django_settings.PLAN_LIMITS["team"]
    assert body["usage"] == {
        "pipelines": 0,
        "api_keys": 2,
        "connections": 0,
        "runs_per_month": 7,
        "check_executions_per_month": 0,
        "openlineage_events_per_month": 0,
    }
    assert body["usage_period"] == limits.current_period().isoformat()
    assert body["billing"] == {"enabled": False, "plan_source": "default", "subscription_status": None}


def test_me_shows_only_the_callers_organization(make_org, make_client):
    org_a, org_b = make_org("org-a", plan=Plan.ENTERPRISE), make_org("org-b", plan=Plan.FREE)
    limits.consume_monthly(org_a, "runs_per_month", amount=3)

    body = make_client(org_b, Role.READ).get("/api/v1/organizations/me").json()

    assert (body["slug"], body["plan"]) == ("org-b", "free")
    assert body["usage"]["runs_per_month"] == 0
    assert body["limits"]["pipelines"] == django_settings.PLAN_LIMITS["free"]["pipelines"]


def test_me_follows_a_webhook_plan_change(make_org, make_client, subscribe, deliver):
    organization = make_org("acme", plan=Plan.FREE)
    client = make_client(organization, Role.READ)
    deliver(make_event("customer.subscription.created", subscribe(organization, "price_enterprise_monthly")))

    body = client.get("/api/v1/organizations/me").json()

    assert body["plan"] == "enterprise"
    assert body["limits"] == django_settings.PLAN_LIMITS["enterprise"]
    assert body["billing"] == {"enabled": True, "plan_source": "stripe", "subscription_status": "active"}


def test_me_shows_a_staff_set_plan(make_org, make_client):
    organization = make_org("acme", plan=Plan.FREE)
    set_plan_by_staff(organization, Plan.ENTERPRISE)

    body = make_client(organization, Role.READ).get("/api/v1/organizations/me").json()

    assert (body["plan"], body["billing"]["plan_source"]) == ("enterprise", "staff")


def test_me_needs_credentials(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/organizations/me").status_code == 401


def test_me_runs_a_constant_number_of_queries(make_org, make_client, django_assert_num_queries):
    organization = make_org("acme", plan=Plan.TEAM)
    client = make_client(organization, Role.READ)
    for i in range(5):
        services.create_api_key(organization=organization, name=f"k{i}")
        limits.consume_monthly(organization, "runs_per_month")
        limits.consume_monthly(organization, "check_executions_per_month")
    client.get("/api/v1/organizations/me")  # last_used_at is written at most once a minute: settle it

    # key lookup, 3 row counts, the monthly counters, the billing state
    with django_assert_num_queries(6):
        response = client.get("/api/v1/organizations/me")
    assert response.json()["usage"]["api_keys"] == 6
