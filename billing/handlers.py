"""dj-stripe webhook signal handlers.

dj-stripe verifies the signature (and its timestamp tolerance), stores the Event once (its id is
unique, so a redelivered event is not processed again) and, for subscription events, re-fetches the
subscription from Stripe's API before these handlers run. The plan is then derived from that
fetched state, so events arriving late or out of order leave the state Stripe holds now.
"""

import logging

from django.dispatch import receiver
from djstripe import signals
from djstripe.models import Customer, Event, WebhookEventTrigger

from billing import services
from orgs.models import Organization

logger = logging.getLogger(__name__)

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
# Only honoured by dj-stripe with DEBUG on, where it lets any caller pick the secret the
# signature is checked against. Stripe CLI users put the CLI's secret on the WebhookEndpoint row.
SECRET_OVERRIDE_HEADER = "x-djstripe-webhook-secret"  # noqa: S105 - a header name


@receiver([signals.WEBHOOK_SIGNALS[name] for name in SUBSCRIPTION_EVENTS], sender=Event)
def follow_subscription(sender, event, **kwargs):
    subscription_id = (event.data.get("object") or {}).get("id")
    if subscription_id:
        services.sync_plan_for_subscription(subscription_id, stripe_event_id=event.id)


@receiver(signals.webhook_pre_validate, sender=WebhookEventTrigger)
def drop_secret_override_header(sender, instance, **kwargs):
    instance.headers = {k: v for k, v in instance.headers.items() if k.lower() != SECRET_OVERRIDE_HEADER}


# customer.deleted: dj-stripe's handler unlinks the customer from its organization (purge), after
# which nothing leads from the customer's subscriptions back to it. Note the organization before
# processing, and re-derive its plan after: a deleted customer's subscriptions are all cancelled.
@receiver(signals.webhook_pre_process, sender=WebhookEventTrigger)
def note_organization_of_deleted_customer(sender, instance, **kwargs):
    body = instance.json_body
    if body.get("type") == "customer.deleted":
        customer_id = ((body.get("data") or {}).get("object") or {}).get("id")
        instance.billing_organization_id = (
            Customer.objects.filter(id=customer_id).values_list("subscriber_id", flat=True).first()
        )


@receiver(signals.webhook_post_process, sender=WebhookEventTrigger)
def follow_deleted_customer(sender, instance, **kwargs):
    organization_id = getattr(instance, "billing_organization_id", None)
    organization = Organization.objects.filter(pk=organization_id).first() if organization_id else None
    if organization is not None:
        services.sync_plan_from_stripe(organization, stripe_event_id=instance.json_body.get("id", ""))
