"""Billing writes: Stripe customers and sessions, and the plan an organization is on.

The one rule for the plan: it follows the organization's Stripe subscriptions as dj-stripe last
fetched them from Stripe's API (never the event payload), unless staff set it by hand.
"""

import logging

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from djstripe.models import Customer, Session, Subscription

from billing.models import OrganizationBilling, PlanChange, PlanSource
from billing.selectors import subscriptions_of
from billing.stripe_api import request_options, secret_key, stripe_errors_as_502
from orgs.errors import Conflict
from orgs.models import Organization, Plan

logger = logging.getLogger(__name__)

PLAN_RANK = {Plan.FREE: 0, Plan.TEAM: 1, Plan.ENTERPRISE: 2}
PAID_PLANS = (Plan.TEAM, Plan.ENTERPRISE)
# past_due keeps the paid plan: Stripe's own retry schedule (Smart Retries) is the grace period,
# and when it gives up Stripe moves the subscription to canceled or unpaid, which ends the plan.
PLAN_GRANTING_STATUSES = frozenset({"active", "trialing", "past_due"})


class AlreadySubscribed(Conflict):
    code = "already_subscribed"

    def __init__(self, subscription_status: str):
        super().__init__(
            f"This organization already has a subscription ({subscription_status}); "
            "change or cancel it in the billing portal: POST /api/v1/billing/portal."
        )


def price_for_plan(plan: str) -> str:
    for price_id, mapped_plan in settings.STRIPE_PRICE_PLANS.items():
        if mapped_plan == plan:
            return price_id
    raise ValidationError({"plan": [f"The '{plan}' plan cannot be bought online; no Stripe price is configured."]})


def plan_for_price(price_id: str) -> str | None:
    return settings.STRIPE_PRICE_PLANS.get(price_id)


def _locked(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def get_or_create_customer(organization: Organization) -> Customer:
    """The organization's Stripe customer: created and linked (Customer.subscriber) on first use."""
    options = request_options()
    existing = Customer.objects.filter(subscriber=organization, livemode=settings.STRIPE_LIVE_MODE).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        _locked(organization)  # two first checkouts at once must not create two customers
        with stripe_errors_as_502():
            customer, created = Customer.get_or_create(
                subscriber=organization,
                livemode=settings.STRIPE_LIVE_MODE,
                api_key=options["api_key"],
                metadata={"organization_slug": organization.slug},
            )
    if created:
        logger.info("stripe customer %s created for %s", customer.id, organization.slug)
    return customer


def _live_subscription(organization: Organization) -> Subscription | None:
    for subscription in subscriptions_of(organization):
        if subscription.status in PLAN_GRANTING_STATUSES:
            return subscription
    return None


def create_checkout_session(organization: Organization, plan: str) -> str:
    """A Checkout Session (subscription mode) for `plan`; returns the URL to send the customer to."""
    secret_key()
    price_id = price_for_plan(plan)
    live = _live_subscription(organization)
    if live is not None:
        raise AlreadySubscribed(live.status)
    customer = get_or_create_customer(organization)
    metadata = {"organization_id": str(organization.pk), "organization_slug": organization.slug, "plan": plan}
    with stripe_errors_as_502():
        session = Session._api_create(
            mode="subscription",
            customer=customer.id,
            client_reference_id=str(organization.pk),
            line_items=[{"price": price_id, "quantity": 1}],
            success_url=settings.BILLING_SUCCESS_URL,
            cancel_url=settings.BILLING_CANCEL_URL,
            metadata=metadata,
            subscription_data={"metadata": metadata},
            api_key=secret_key(),  # dj-stripe adds its pinned API version
        )
    logger.info("checkout session %s for %s (plan %s)", session["id"], organization.slug, plan)
    return session["url"]


def create_portal_session(organization: Organization) -> str:
    """A Billing Portal session for the organization's own customer; returns its URL."""
    secret_key()
    customer = get_or_create_customer(organization)
    with stripe_errors_as_502():
        session = stripe.billing_portal.Session.create(
            customer=customer.id, return_url=settings.BILLING_PORTAL_RETURN_URL, **request_options()
        )
    return session["url"]


def _subscription_plan(subscription: Subscription) -> str | None:
    """The plan a subscription pays for, from its items' prices (the best one if several map)."""
    plans = []
    for item in (subscription.stripe_data.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        price_id = price.get("id") if isinstance(price, dict) else price
        plan = plan_for_price(price_id)
        if plan is None:
            logger.warning("subscription %s has price %s, which maps to no plan", subscription.id, price_id)
        else:
            plans.append(plan)
    return max(plans, key=PLAN_RANK.__getitem__) if plans else None


def _plan_from_subscriptions(organization: Organization) -> tuple[str, Subscription | None]:
    best_plan, best_subscription, latest = Plan.FREE, None, None
    for subscription in subscriptions_of(organization):
        latest = latest or subscription
        if subscription.status not in PLAN_GRANTING_STATUSES:
            continue
        plan = _subscription_plan(subscription)
        if plan is not None and PLAN_RANK[plan] > PLAN_RANK[best_plan]:
            best_plan, best_subscription = plan, subscription
    return best_plan, best_subscription or latest


def _record_change(organization, from_plan, to_plan, source, **details) -> None:
    PlanChange.objects.create(organization=organization, from_plan=from_plan, to_plan=to_plan, source=source, **details)
    logger.info("plan of %s: %s -> %s (%s)", organization.slug, from_plan, to_plan, source)


@transaction.atomic
def sync_plan_from_stripe(organization: Organization, *, stripe_event_id: str = "") -> Organization:
    """Sets the plan from the organization's subscriptions as stored by dj-stripe.

    Idempotent: it derives the plan from current state, so a duplicate or late event changes
    nothing more. Staff-set plans are left alone.
    """
    organization = _locked(organization)
    state, _ = OrganizationBilling.objects.for_organization(organization).get_or_create(organization=organization)
    plan, subscription = _plan_from_subscriptions(organization)
    state.subscription_id = subscription.id if subscription else ""
    state.subscription_status = (subscription.status or "") if subscription else ""
    state.synced_at = timezone.now()
    if state.plan_source != PlanSource.STAFF:
        state.plan_source = PlanSource.STRIPE if subscription else PlanSource.DEFAULT
        if organization.plan != plan:
            previous = organization.plan
            organization.plan = plan
            organization.save(update_fields=["plan"])
            _record_change(
                organization,
                previous,
                plan,
                PlanSource.STRIPE,
                stripe_event_id=stripe_event_id,
                subscription_id=state.subscription_id,
                subscription_status=state.subscription_status,
            )
    state.save()
    return organization


def sync_plan_for_subscription(subscription_id: str, *, stripe_event_id: str = "") -> Organization | None:
    """Called for subscription webhooks once dj-stripe has re-fetched the subscription."""
    subscription = Subscription.objects.select_related("customer__subscriber").filter(id=subscription_id).first()
    organization = subscription.customer.subscriber if subscription and subscription.customer_id else None
    if organization is None:
        # A customer this service did not create (no subscriber link): never guess from e-mail.
        logger.warning("subscription %s belongs to no organization; plan unchanged", subscription_id)
        return None
    return sync_plan_from_stripe(organization, stripe_event_id=stripe_event_id)


@transaction.atomic
def set_plan_by_staff(organization: Organization, plan: str, *, changed_by=None) -> Organization:
    """Staff set the plan by hand (enterprise contracts); Stripe events stop changing it."""
    if plan not in Plan.values:
        raise ValidationError({"plan": [f"Unknown plan '{plan}'."]})
    organization = _locked(organization)
    state, _ = OrganizationBilling.objects.for_organization(organization).get_or_create(organization=organization)
    state.plan_source = PlanSource.STAFF
    state.save(update_fields=["plan_source"])
    if organization.plan != plan:
        previous = organization.plan
        organization.plan = plan
        organization.save(update_fields=["plan"])
        _record_change(organization, previous, plan, PlanSource.STAFF, changed_by=changed_by)
    return organization


@transaction.atomic
def return_plan_to_stripe(organization: Organization) -> Organization:
    """Undoes set_plan_by_staff: the plan follows the subscriptions again, starting now."""
    organization = _locked(organization)
    OrganizationBilling.objects.for_organization(organization).update_or_create(
        organization=organization, defaults={"plan_source": PlanSource.DEFAULT}
    )
    return sync_plan_from_stripe(organization)
