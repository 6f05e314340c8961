"""The few Stripe API calls billing makes itself, with the key and API version read at call time.

dj-stripe reads its defaults at import time; passing the key explicitly keeps settings overrides
(tests, a key added later through the environment) effective.
"""

import logging
from contextlib import contextmanager

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

from orgs.errors import NotConfigured, UpstreamUnavailable

logger = logging.getLogger(__name__)


class BillingNotConfigured(NotConfigured):
    code = "billing_not_configured"
    default_message = (
        "Billing is not configured on this deployment: STRIPE_SECRET_KEY is not set. "
        "Every organization stays on its current plan."
    )


class StripeUnavailable(UpstreamUnavailable):
    code = "stripe_unavailable"
    default_message = "Stripe could not complete the request; retry later."


def secret_key() -> str:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise BillingNotConfigured()
    return key


def request_options() -> dict:
    return {"api_key": secret_key(), "stripe_version": djstripe_settings.STRIPE_API_VERSION}


@contextmanager
def stripe_errors_as_502():
    """Turns a failing Stripe call into a clean 502 (the reason is logged, never returned)."""
    try:
        yield
    except stripe.StripeError as exc:
        logger.warning("stripe call failed: %s (%s)", type(exc).__name__, getattr(exc, "code", None))
        raise StripeUnavailable() from exc
