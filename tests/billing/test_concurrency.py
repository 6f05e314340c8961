"""Races on real PostgreSQL: duplicate webhook deliveries and creations at a plan limit.

Each thread has its own database connection and transaction, as gunicorn workers would. The
Stripe API behind dj-stripe's re-fetch is the local fake of tests/billing/fake_stripe.py.
"""

import threading

import pytest
from django.db import connection
from djstripe.models import Event, WebhookEventTrigger

from billing.models import PlanChange
from orgs import limits, services
from orgs.models import ApiKey, Plan, UsageCounter
from tests.billing.fake_stripe import make_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(count, work):
    """Runs work(i) in `count` threads released together; returns each result or exception."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_ten_concurrent_deliveries_of_one_event_have_one_effect(make_org, subscribe, deliver, fake_stripe):
    organization = make_org("acme", plan=Plan.FREE)
    event = make_event("customer.subscription.created", subscribe(organization, "price_team_monthly"))

    results = run_in_threads(10, lambda i: deliver(event).status_code)

    assert results == [200] * 10
    organization.refresh_from_db()
    assert organization.plan == Plan.TEAM
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert PlanChange.objects.unscoped().filter(organization=organization).count() == 1
    assert WebhookEventTrigger.objects.filter(event_id=event["id"], valid=True).count() == 10


def test_concurrent_different_events_end_on_stripes_current_state(make_org, subscribe, deliver, fake_stripe, now):
    organization = make_org("acme", plan=Plan.FREE)
    sub = subscribe(organization, "price_team_monthly")
    events = [make_event("customer.subscription.created", sub, created=now - 30)]
    for status in ("past_due", "active"):
        events.append(make_event("customer.subscription.updated", sub | {"status": status}, created=now - 20))
    final = fake_stripe.set_subscription(sub["customer"], "price_enterprise_monthly", sub_id=sub["id"])
    events.append(make_event("customer.subscription.updated", final, created=now))

    results = run_in_threads(len(events), lambda i: deliver(events[i]).status_code)

    assert results == [200] * len(events)
    organization.refresh_from_db()
    assert organization.plan == Plan.ENTERPRISE


def test_parallel_api_key_creation_never_passes_the_limit(make_org, settings):
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], "api_keys": 5}}
    organization = make_org("acme", plan=Plan.FREE)
    for i in range(4):
        services.create_api_key(organization=organization, name=f"existing-{i}")

    results = run_in_threads(8, lambda i: services.create_api_key(organization=organization, name=f"racer-{i}"))

    created = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, limits.PlanLimitReached)]
    assert (len(created), len(refused)) == (1, 7)
    assert ApiKey.objects.unscoped().filter(organization=organization).count() == 5


def test_parallel_metered_events_never_pass_the_monthly_limit(make_org, settings):
    metric = "runs_per_month"
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], metric: 10}}
    organization = make_org("acme", plan=Plan.FREE)
    limits.consume_monthly(organization, metric, amount=4)

    results = run_in_threads(12, lambda i: limits.consume_monthly(organization, metric))

    assert results.count(None) == 6
    assert sum(isinstance(r, limits.PlanLimitReached) for r in results) == 6
    assert UsageCounter.objects.unscoped().get(organization=organization, metric=metric).value == 10


def test_parallel_first_events_of_a_month_create_one_counter(make_org):
    organization = make_org("acme", plan=Plan.TEAM)

    results = run_in_threads(8, lambda i: limits.consume_monthly(organization, "openlineage_events_per_month"))

    assert results == [None] * 8
    counter = UsageCounter.objects.unscoped().get(organization=organization, metric="openlineage_events_per_month")
    assert counter.value == 8


def test_parallel_first_checkouts_create_one_customer(fake_stripe, org_a, make_key):
    from djstripe.models import Customer
    from rest_framework.test import APIClient

    key = make_key(org_a)

    def checkout(i):
        return APIClient(HTTP_X_API_KEY=key).post("/api/v1/billing/checkout", {"plan": "team"}, format="json")

    results = run_in_threads(4, checkout)

    assert [r.status_code for r in results] == [200] * 4
    assert len(fake_stripe.calls_to("POST", r"/v1/customers")) == 1
    customer = Customer.objects.get(subscriber=org_a)
    assert {form["customer"] for form in fake_stripe.calls_to("POST", r"/v1/checkout/sessions")} == {customer.id}
