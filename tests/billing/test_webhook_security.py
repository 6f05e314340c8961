"""Webhooks that cannot be trusted are refused and change nothing.

Signatures are made with the stripe library's own helper (stripe.WebhookSignature); the Stripe API
behind the re-fetch is the local fake of tests/billing/fake_stripe.py.
"""

import json
import uuid

import pytest
from django.test import Client
from djstripe.models import Event, Subscription

from billing.models import PlanChange
from orgs.models import Plan
from tests.billing.fake_stripe import make_event, signed_headers


@pytest.fixture
def pending(make_org, subscribe):
    """An organization whose team subscription exists in Stripe, and the event announcing it."""
    organization = make_org("acme", plan=Plan.FREE)
    return organization, make_event("customer.subscription.created", subscribe(organization, "price_team_monthly"))


def assert_nothing_changed(organization, fake_stripe):
    organization.refresh_from_db()
    assert organization.plan == Plan.FREE
    assert not Event.objects.exists()
    assert not Subscription.objects.exists()
    assert not PlanChange.objects.unscoped().exists()
    assert fake_stripe.calls_to("GET", r"/v1/subscriptions/\w+") == []


def test_an_unsigned_event_is_refused(pending, fake_stripe, deliver):
    organization, event = pending

    assert deliver(event, signed=False).status_code == 400
    assert_nothing_changed(organization, fake_stripe)


def test_an_event_signed_with_another_secret_is_refused(pending, fake_stripe, deliver):
    organization, event = pending

    assert deliver(event, secret="whsec_forged_by_someone_else").status_code == 400
    assert_nothing_changed(organization, fake_stripe)


@pytest.mark.parametrize("header", ["", "garbage", "t=notanumber,v1=abc", "v1=deadbeef"])
def test_a_malformed_signature_header_is_refused(pending, fake_stripe, deliver, header):
    organization, event = pending

    assert deliver(event, signed=False, extra_headers={"HTTP_STRIPE_SIGNATURE": header}).status_code == 400
    assert_nothing_changed(organization, fake_stripe)


def test_a_stale_event_is_refused(pending, fake_stripe, deliver, now, webhook_endpoint):
    organization, event = pending

    response = deliver(event, timestamp=now - webhook_endpoint.djstripe_tolerance - 5)

    assert response.status_code == 400
    assert_nothing_changed(organization, fake_stripe)


def test_a_body_changed_after_signing_is_refused(pending, fake_stripe, webhook_endpoint):
    organization, event = pending
    headers = signed_headers(json.dumps(event))
    event["data"]["object"]["items"]["data"][0]["price"]["id"] = "price_enterprise_monthly"

    response = Client().post(
        f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
        data=json.dumps(event),
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 400
    assert_nothing_changed(organization, fake_stripe)


def test_the_debug_secret_override_header_is_ignored(pending, fake_stripe, deliver, settings):
    """dj-stripe lets a request pick the secret with DEBUG on; billing strips that header."""
    organization, event = pending
    settings.DEBUG = True

    response = deliver(
        event,
        secret="whsec_chosen_by_the_caller",
        extra_headers={"HTTP_X_DJSTRIPE_WEBHOOK_SECRET": "whsec_chosen_by_the_caller"},
    )

    assert response.status_code == 400
    assert_nothing_changed(organization, fake_stripe)


def test_an_unknown_endpoint_is_404(pending, fake_stripe, webhook_endpoint):
    organization, event = pending
    payload = json.dumps(event)

    response = Client().post(
        f"/stripe/webhook/{uuid.uuid4()}/", data=payload, content_type="application/json", **signed_headers(payload)
    )

    assert response.status_code == 404
    assert_nothing_changed(organization, fake_stripe)


def test_a_valid_event_right_at_the_tolerance_is_accepted(pending, fake_stripe, deliver, now, webhook_endpoint):
    organization, event = pending

    response = deliver(event, timestamp=now - webhook_endpoint.djstripe_tolerance + 30)

    assert response.status_code == 200
    organization.refresh_from_db()
    assert organization.plan == Plan.TEAM
