"""Billing reads for the API and the admin."""

from django.conf import settings
from djstripe.models import Customer, Subscription

from billing.models import OrganizationBilling, PlanSource
from orgs.models import Organization


def billing_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def billing_summary(organization: Organization) -> dict:
    """What GET /organizations/me shows of billing: one query, no Stripe ids."""
    state = (
        OrganizationBilling.objects.for_organization(organization).values("plan_source", "subscription_status").first()
    ) or {"plan_source": PlanSource.DEFAULT, "subscription_status": ""}
    return {
        "enabled": billing_enabled(),
        "plan_source": state["plan_source"],
        "subscription_status": state["subscription_status"] or None,
    }


def customers_of(organization: Organization):
    return Customer.objects.filter(subscriber=organization).order_by("-created", "-djstripe_id")


def subscriptions_of(organization: Organization):
    return Subscription.objects.filter(customer__subscriber=organization).order_by("-created", "-djstripe_id")
