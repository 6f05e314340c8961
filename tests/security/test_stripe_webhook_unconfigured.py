"""A validly signed Stripe webhook while STRIPE_SECRET_KEY is unset: a clear 503, not a 500.

dj-stripe would re-fetch the event from Stripe's API with no key and crash; the guard in
config/urls.py answers first. Stripe retries non-2xx deliveries, so the event is not lost once
billing is configured. Real stripe library signatures (tests/billing/fake_stripe.py); no network.
"""

import json

import pytest
import responses
from django.test import Client

from tests.billing.conftest import webhook_endpoint  # noqa: F401 (fixture)
from tests.billing.fake_stripe import make_event, signed_headers

pytestmark = pytest.mark.django_db


def test_signed_webhook_without_a_stripe_key_is_503(settings, webhook_endpoint):  # noqa: F811
    assert settings.STRIPE_SECRET_KEY == ""
    event = make_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription"})
    payload = json.dumps(event)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as network:
        response = Client().post(
            f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            **signed_headers(payload),
        )
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "billing_not_configured"
    assert len(network.calls) == 0


def test_webhook_for_an_unknown_endpoint_is_still_refused(settings):
    response = Client().post(
        "/stripe/webhook/00000000-0000-0000-0000-000000000000/", data="{}", content_type="application/json"
    )
    assert 400 <= response.status_code < 500
