"""Billing fixtures: Stripe configured against the local fake API, a webhook endpoint, a deliverer."""

import json
import time

import pytest
import responses
import stripe
from django.test import Client

from billing import services
from tests.billing.fake_stripe import ACCOUNT_ID, WEBHOOK_SECRET, FakeStripe, make_event, signed_headers

TEST_SECRET_KEY = "sk_test_" + "FakeKeyForBillingTests" + "0123456789"
PRICE_PLANS = {"price_team_monthly": "team", "price_enterprise_monthly": "enterprise"}


@pytest.fixture
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = TEST_SECRET_KEY
    settings.STRIPE_TEST_SECRET_KEY = TEST_SECRET_KEY
    settings.STRIPE_PRICE_PLANS = dict(PRICE_PLANS)
    settings.BILLING_ENABLED = True
    settings.BILLING_SUCCESS_URL = "https://app.dataxpipe.test/billing/success"
    settings.BILLING_CANCEL_URL = "https://app.dataxpipe.test/billing/cancel"
    settings.BILLING_PORTAL_RETURN_URL = "https://app.dataxpipe.test/settings"
    return settings


@pytest.fixture
def fake_stripe(stripe_settings, monkeypatch):
    """The real stripe library, its HTTP answered by FakeStripe; any other request fails the test."""
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    fake = FakeStripe()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


@pytest.fixture
def webhook_endpoint(db):
    from djstripe.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        id="we_FakeEndpoint",
        livemode=False,
        secret=WEBHOOK_SECRET,
        url="https://catalog.dataxpipe.test/stripe/webhook/",
        enabled_events=["*"],
        status="enabled",
        api_version="",
    )


@pytest.fixture
def deliver(webhook_endpoint):
    """deliver(event, secret=..., timestamp=..., signed=True) -> the webhook view's response."""

    def send(event, *, secret=WEBHOOK_SECRET, timestamp=None, signed=True, extra_headers=None):
        payload = json.dumps(event)
        headers = signed_headers(payload, secret=secret, timestamp=timestamp) if signed else {}
        headers.update(extra_headers or {})
        return Client().post(
            f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            **headers,
        )

    return send


@pytest.fixture
def subscribe(fake_stripe):
    """subscribe(org, price_id, status) -> the subscription Stripe now holds for org's customer."""

    def make(organization, price_id="price_team_monthly", status="active", sub_id=None):
        customer = services.get_or_create_customer(organization)
        return fake_stripe.set_subscription(customer.id, price_id, status=status, sub_id=sub_id)

    return make


@pytest.fixture
def now():
    return int(time.time())


__all__ = ["ACCOUNT_ID", "make_event"]
