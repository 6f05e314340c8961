"""Checkout and portal sessions, against the local fake Stripe API (tests/billing/fake_stripe.py).

Stripe's API cannot run here: the real stripe library sends its real HTTP requests, which
`responses` answers at Stripe's paths with Stripe-shaped objects.
"""

import pytest
from djstripe.models import Customer

from orgs.models import Plan, Role

CHECKOUT = "/api/v1/billing/checkout"
PORTAL = "/api/v1/billing/portal"
SESSIONS = r"/v1/checkout/sessions"
CUSTOMERS = r"/v1/customers"


@pytest.mark.parametrize("path", [CHECKOUT, CHECKOUT + "/"])
def test_first_checkout_creates_and_links_the_customer(fake_stripe, org_a, client_a, path):
    response = client_a.post(path, {"plan": "team"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [customer_form] = fake_stripe.calls_to("POST", CUSTOMERS)
    assert customer_form["metadata[djstripe_subscriber]"] == str(org_a.pk)
    customer = Customer.objects.get(subscriber=org_a)
    [session_form] = fake_stripe.calls_to("POST", SESSIONS)
    assert session_form["mode"] == "subscription"
    assert session_form["customer"] == customer.id
    assert session_form["line_items[0][price]"] == "price_team_monthly"
    assert session_form["line_items[0][quantity]"] == "1"
    assert session_form["success_url"] == "https://app.dataxpipe.test/billing/success"
    assert session_form["cancel_url"] == "https://app.dataxpipe.test/billing/cancel"
    assert session_form["client_reference_id"] == str(org_a.pk)
    assert session_form["subscription_data[metadata][organization_id]"] == str(org_a.pk)


def test_later_checkouts_reuse_the_customer(fake_stripe, org_a, client_a):
    first = client_a.post(CHECKOUT, {"plan": "team"}, format="json")
    second = client_a.post(CHECKOUT, {"plan": "enterprise"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["url"] != second.json()["url"]
    assert len(fake_stripe.calls_to("POST", CUSTOMERS)) == 1
    customer = Customer.objects.get(subscriber=org_a)
    sessions = fake_stripe.calls_to("POST", SESSIONS)
    assert [form["customer"] for form in sessions] == [customer.id, customer.id]
    assert sessions[1]["line_items[0][price]"] == "price_enterprise_monthly"


@pytest.mark.parametrize(
    "body",
    [{"plan": "gold"}, {"plan": "free"}, {"plan": ""}, {}, {"plan": ["team"]}, {"plan": None}],
)
def test_unknown_plan_is_400_and_nothing_reaches_stripe(fake_stripe, client_a, body):
    response = client_a.post(CHECKOUT, body, format="json")

    assert response.status_code == 400
    assert "plan" in response.json()
    assert fake_stripe.calls == []


def test_a_plan_without_a_configured_price_is_400(fake_stripe, stripe_settings, client_a):
    stripe_settings.STRIPE_PRICE_PLANS = {"price_team_monthly": "team"}

    response = client_a.post(CHECKOUT, {"plan": "enterprise"}, format="json")

    assert response.status_code == 400
    assert "no Stripe price" in response.json()["plan"][0]
    assert fake_stripe.calls == []


def test_an_organization_with_a_live_subscription_is_sent_to_the_portal(
    fake_stripe, subscribe, deliver, org_a, client_a
):
    from tests.billing.fake_stripe import make_event

    deliver(make_event("customer.subscription.created", subscribe(org_a, "price_team_monthly")))
    sessions_before = len(fake_stripe.calls_to("POST", SESSIONS))

    response = client_a.post(CHECKOUT, {"plan": "enterprise"}, format="json")

    assert response.status_code == 409
    assert "/api/v1/billing/portal" in response.json()["detail"]
    assert len(fake_stripe.calls_to("POST", SESSIONS)) == sessions_before


@pytest.mark.parametrize("role", [Role.READ, Role.WRITE])
@pytest.mark.parametrize("path", [CHECKOUT, PORTAL])
def test_billing_needs_the_admin_role(fake_stripe, make_client, org_a, role, path):
    response = make_client(org_a, role).post(path, {"plan": "team"}, format="json")

    assert response.status_code == 403
    assert fake_stripe.calls == []
    assert not Customer.objects.exists()


@pytest.mark.parametrize("path", [CHECKOUT, PORTAL])
def test_billing_needs_credentials(fake_stripe, path):
    from rest_framework.test import APIClient

    assert APIClient().post(path, {"plan": "team"}, format="json").status_code == 401
    assert fake_stripe.calls == []


@pytest.mark.parametrize("path", [PORTAL, PORTAL + "/"])
def test_portal_opens_for_the_organizations_customer(fake_stripe, org_a, client_a, path):
    client_a.post(CHECKOUT, {"plan": "team"}, format="json")
    customer = Customer.objects.get(subscriber=org_a)

    response = client_a.post(path, format="json")

    assert response.status_code == 200
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    [portal_form] = fake_stripe.calls_to("POST", r"/v1/billing_portal/sessions")
    assert portal_form == {"customer": customer.id, "return_url": "https://app.dataxpipe.test/settings"}
    assert len(fake_stripe.calls_to("POST", CUSTOMERS)) == 1


def test_portal_before_any_checkout_creates_the_customer_once(fake_stripe, org_a, client_a):
    assert client_a.post(PORTAL).status_code == 200
    assert client_a.post(PORTAL).status_code == 200

    assert len(fake_stripe.calls_to("POST", CUSTOMERS)) == 1
    assert Customer.objects.filter(subscriber=org_a).count() == 1


def test_org_b_never_reaches_org_a_customer(fake_stripe, org_a, org_b, client_a, client_b):
    client_a.post(CHECKOUT, {"plan": "team"}, format="json")
    customer_a = Customer.objects.get(subscriber=org_a)

    # A Stripe id in the body is ignored: billing only ever acts on the caller's own customer.
    portal = client_b.post(PORTAL, {"customer": customer_a.id}, format="json")
    checkout = client_b.post(CHECKOUT, {"plan": "team", "customer": customer_a.id}, format="json")

    assert portal.status_code == checkout.status_code == 200
    customer_b = Customer.objects.get(subscriber=org_b)
    assert customer_b.id != customer_a.id
    assert fake_stripe.calls_to("POST", r"/v1/billing_portal/sessions")[-1]["customer"] == customer_b.id
    assert fake_stripe.calls_to("POST", SESSIONS)[-1]["customer"] == customer_b.id
    customer_a.refresh_from_db()
    assert customer_a.subscriber_id == org_a.pk


def test_a_stripe_failure_is_a_clean_502(fake_stripe, client_a):
    fake_stripe.fail("POST", SESSIONS)

    response = client_a.post(CHECKOUT, {"plan": "team"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "stripe_unavailable"
    assert "sk_test" not in response.content.decode()


def test_checkout_leaves_the_plan_alone_until_stripe_confirms(fake_stripe, org_a, client_a):
    client_a.post(CHECKOUT, {"plan": "enterprise"}, format="json")

    org_a.refresh_from_db()
    assert org_a.plan == Plan.TEAM


def test_checkout_after_the_customer_was_deleted_in_stripe_links_a_new_one(fake_stripe, org_a, client_a, deliver):
    from tests.billing.fake_stripe import make_event

    client_a.post(CHECKOUT, {"plan": "team"}, format="json")
    old = Customer.objects.get(subscriber=org_a)
    deleted = dict(fake_stripe.customers[old.id])
    fake_stripe.delete_customer(old.id)
    assert deliver(make_event("customer.deleted", deleted)).status_code == 200

    response = client_a.post(CHECKOUT, {"plan": "team"}, format="json")

    assert response.status_code == 200
    new = Customer.objects.get(subscriber=org_a)
    assert new.id != old.id
    assert fake_stripe.calls_to("POST", SESSIONS)[-1]["customer"] == new.id


def test_stripe_calls_use_the_configured_timeout(fake_stripe, client_a):
    import stripe
    from django.conf import settings

    client_a.post(PORTAL)

    assert stripe.default_http_client._timeout == settings.BILLING_STRIPE_TIMEOUT_SECONDS < 60
