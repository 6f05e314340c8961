"""Without STRIPE_SECRET_KEY (a first run): billing answers a clear 503, and nothing else changes."""

import pytest
import responses

from orgs.models import Plan, Role


@pytest.fixture
def no_network():
    """Any HTTP request through requests (the stripe library's client) fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/billing/checkout", {"plan": "team"}),
        ("/api/v1/billing/checkout/", {"plan": "enterprise"}),
        ("/api/v1/billing/portal", {}),
        ("/api/v1/billing/portal/", {}),
    ],
)
def test_billing_endpoints_say_billing_is_not_configured(settings, no_network, client_a, path, body):
    assert settings.STRIPE_SECRET_KEY == ""

    response = client_a.post(path, body, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "billing_not_configured"
    assert "not configured" in response.json()["detail"]
    assert len(no_network.calls) == 0


def test_the_rest_works_and_plans_stay(make_org, make_client, no_network):
    organization = make_org("acme", plan=Plan.TEAM)
    client = make_client(organization, Role.ADMIN)

    assert client.post("/api/v1/billing/checkout", {"plan": "enterprise"}, format="json").status_code == 503
    me = client.get("/api/v1/organizations/me")
    created = client.post("/api/v1/api-keys/", {"name": "ci"}, format="json")

    assert me.status_code == 200 and me.json()["billing"]["enabled"] is False
    assert created.status_code == 201
    organization.refresh_from_db()
    assert organization.plan == Plan.TEAM


def test_billing_roles_are_checked_before_configuration(make_client, org_a, no_network):
    assert make_client(org_a, Role.WRITE).post("/api/v1/billing/portal").status_code == 403
