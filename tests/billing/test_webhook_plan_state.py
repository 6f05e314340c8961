"""The plan follows Stripe's subscription, as dj-stripe re-fetches it when a signed webhook arrives.

Stripe's API is the local fake of tests/billing/fake_stripe.py: what it answers for
GET /v1/subscriptions/{id} is what Stripe holds now; events are signed with the stripe library's
own signature helper for the webhook endpoint's secret.
"""

import pytest
from djstripe.models import Event, Subscription

from billing.models import OrganizationBilling, PlanChange, PlanSource
from billing.services import set_plan_by_staff
from orgs.models import Plan
from tests.billing.fake_stripe import make_event

SUBSCRIPTION_GET = r"/v1/subscriptions/\w+"


@pytest.fixture
def org(make_org):
    return make_org("acme", plan=Plan.FREE)


def plan_of(organization):
    organization.refresh_from_db()
    return organization.plan


@pytest.mark.parametrize(
    ("price", "status", "expected"),
    [
        ("price_team_monthly", "active", Plan.TEAM),
        ("price_enterprise_monthly", "active", Plan.ENTERPRISE),
        ("price_team_monthly", "trialing", Plan.TEAM),
        ("price_team_monthly", "incomplete", Plan.FREE),  # first payment not made yet
        ("price_team_monthly", "incomplete_expired", Plan.FREE),
    ],
)
def test_subscription_created_sets_the_plan(org, subscribe, deliver, price, status, expected):
    subscription = subscribe(org, price, status=status)

    response = deliver(make_event("customer.subscription.created", subscription))

    assert response.status_code == 200
    assert plan_of(org) == expected


def test_each_transition_of_one_subscription(org, fake_stripe, subscribe, deliver):
    """created -> upgraded -> past_due (kept: grace) -> active -> unpaid (free) -> reactivated -> deleted (free)."""
    sub = subscribe(org, "price_team_monthly")
    customer_id, sub_id = sub["customer"], sub["id"]
    steps = [
        ("customer.subscription.created", "price_team_monthly", "active", Plan.TEAM),
        ("customer.subscription.updated", "price_enterprise_monthly", "active", Plan.ENTERPRISE),
        ("customer.subscription.updated", "price_enterprise_monthly", "past_due", Plan.ENTERPRISE),
        ("customer.subscription.updated", "price_enterprise_monthly", "active", Plan.ENTERPRISE),
        ("customer.subscription.updated", "price_team_monthly", "active", Plan.TEAM),
        ("customer.subscription.updated", "price_team_monthly", "unpaid", Plan.FREE),
        ("customer.subscription.updated", "price_team_monthly", "active", Plan.TEAM),
        ("customer.subscription.deleted", "price_team_monthly", "canceled", Plan.FREE),
    ]
    for event_type, price, status, expected in steps:
        current = fake_stripe.set_subscription(customer_id, price, status=status, sub_id=sub_id)
        assert deliver(make_event(event_type, current)).status_code == 200
        assert plan_of(org) == expected, (event_type, status)

    history = list(
        PlanChange.objects.unscoped().filter(organization=org).order_by("id").values_list("from_plan", "to_plan")
    )
    assert history == [
        ("free", "team"),
        ("team", "enterprise"),
        ("enterprise", "team"),
        ("team", "free"),
        ("free", "team"),
        ("team", "free"),
    ]
    state = OrganizationBilling.objects.unscoped().get(organization=org)
    assert (state.subscription_id, state.subscription_status) == (sub_id, "canceled")


def test_past_due_keeps_the_plan_and_shows_the_status(org, fake_stripe, subscribe, deliver):
    sub = subscribe(org, "price_team_monthly")
    deliver(make_event("customer.subscription.created", sub))
    past_due = fake_stripe.set_subscription(sub["customer"], "price_team_monthly", "past_due", sub_id=sub["id"])

    deliver(make_event("customer.subscription.updated", past_due))

    assert plan_of(org) == Plan.TEAM
    assert OrganizationBilling.objects.unscoped().get(organization=org).subscription_status == "past_due"


def test_a_price_mapped_to_no_plan_grants_nothing(org, fake_stripe, subscribe, deliver, stripe_settings):
    stripe_settings.STRIPE_PRICE_PLANS = {"price_enterprise_monthly": "enterprise"}
    sub = subscribe(org, "price_team_monthly")

    deliver(make_event("customer.subscription.created", sub))

    assert plan_of(org) == Plan.FREE


def test_the_same_event_twice_has_one_effect(org, fake_stripe, subscribe, deliver):
    event = make_event("customer.subscription.created", subscribe(org, "price_team_monthly"))

    first, second = deliver(event), deliver(event)

    assert first.status_code == second.status_code == 200
    assert plan_of(org) == Plan.TEAM
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert PlanChange.objects.unscoped().filter(organization=org).count() == 1
    assert len(fake_stripe.calls_to("GET", SUBSCRIPTION_GET)) == 1  # the second delivery was not processed


def test_an_older_event_after_a_newer_one_leaves_what_stripe_holds_now(org, fake_stripe, subscribe, deliver, now):
    created = subscribe(org, "price_team_monthly")
    older = make_event("customer.subscription.created", created, created=now - 60)
    upgraded = fake_stripe.set_subscription(created["customer"], "price_enterprise_monthly", sub_id=created["id"])
    newer = make_event("customer.subscription.updated", upgraded, created=now)

    deliver(newer)
    deliver(older)  # its payload still says team; dj-stripe re-fetches, and Stripe says enterprise

    assert plan_of(org) == Plan.ENTERPRISE
    assert len(fake_stripe.calls_to("GET", SUBSCRIPTION_GET)) == 2
    stored = Subscription.objects.get(id=created["id"])
    assert stored.stripe_data["items"]["data"][0]["price"]["id"] == "price_enterprise_monthly"


def test_a_late_created_event_does_not_revive_a_cancelled_subscription(org, fake_stripe, subscribe, deliver, now):
    created = subscribe(org, "price_team_monthly")
    created_event = make_event("customer.subscription.created", created, created=now - 120)
    cancelled = fake_stripe.set_subscription(
        created["customer"], "price_team_monthly", "canceled", sub_id=created["id"]
    )

    deliver(make_event("customer.subscription.deleted", cancelled, created=now))
    deliver(created_event)

    assert plan_of(org) == Plan.FREE
    assert not PlanChange.objects.unscoped().filter(organization=org).exists()


def test_the_best_live_subscription_decides(org, fake_stripe, subscribe, deliver):
    team = subscribe(org, "price_team_monthly")
    enterprise = subscribe(org, "price_enterprise_monthly")
    deliver(make_event("customer.subscription.created", team))
    deliver(make_event("customer.subscription.created", enterprise))
    assert plan_of(org) == Plan.ENTERPRISE

    ended = fake_stripe.set_subscription(
        team["customer"], "price_enterprise_monthly", "canceled", sub_id=enterprise["id"]
    )
    deliver(make_event("customer.subscription.deleted", ended))

    assert plan_of(org) == Plan.TEAM


def test_a_plan_set_by_staff_is_not_changed_by_stripe(org, fake_stripe, subscribe, deliver):
    set_plan_by_staff(org, Plan.ENTERPRISE)
    sub = subscribe(org, "price_team_monthly")
    deliver(make_event("customer.subscription.created", sub))
    cancelled = fake_stripe.set_subscription(sub["customer"], "price_team_monthly", "canceled", sub_id=sub["id"])
    deliver(make_event("customer.subscription.deleted", cancelled))

    assert plan_of(org) == Plan.ENTERPRISE
    state = OrganizationBilling.objects.unscoped().get(organization=org)
    assert (state.plan_source, state.subscription_status) == (PlanSource.STAFF, "canceled")


def test_a_subscription_of_an_unlinked_customer_changes_no_organization(org, fake_stripe, deliver):
    """A customer made in Stripe's dashboard (no subscriber link) is never matched by e-mail."""
    org.billing_email = "owner@acme.test"
    org.save()
    stranger = fake_stripe.add_customer(email="owner@acme.test")
    sub = fake_stripe.set_subscription(stranger["id"], "price_enterprise_monthly")

    response = deliver(make_event("customer.subscription.created", sub))

    assert response.status_code == 200
    assert plan_of(org) == Plan.FREE


def test_a_webhook_for_a_subscription_never_touches_another_organization(make_org, fake_stripe, subscribe, deliver):
    org_a, org_b = make_org("org-a", plan=Plan.FREE), make_org("org-b", plan=Plan.TEAM)
    sub_b = subscribe(org_b, "price_team_monthly")
    deliver(make_event("customer.subscription.created", sub_b))
    b_changes = PlanChange.objects.unscoped().filter(organization=org_b).count()

    sub_a = subscribe(org_a, "price_enterprise_monthly")
    deliver(make_event("customer.subscription.created", sub_a))
    cancelled = fake_stripe.set_subscription(
        sub_a["customer"], "price_enterprise_monthly", "canceled", sub_id=sub_a["id"]
    )
    deliver(make_event("customer.subscription.deleted", cancelled))

    assert plan_of(org_a) == Plan.FREE
    assert plan_of(org_b) == Plan.TEAM
    assert PlanChange.objects.unscoped().filter(organization=org_b).count() == b_changes
    assert OrganizationBilling.objects.unscoped().get(organization=org_b).subscription_id == sub_b["id"]


@pytest.mark.parametrize("customer_event_first", [True, False])
def test_a_deleted_customer_ends_the_plan_in_either_order(org, fake_stripe, subscribe, deliver, customer_event_first):
    sub = subscribe(org, "price_enterprise_monthly")
    deliver(make_event("customer.subscription.created", sub))
    customer_before = dict(fake_stripe.customers[sub["customer"]])
    fake_stripe.delete_customer(sub["customer"])
    events = [
        make_event("customer.deleted", customer_before),
        make_event("customer.subscription.deleted", fake_stripe.subscriptions[sub["id"]]),
    ]
    if not customer_event_first:
        events.reverse()

    assert [deliver(event).status_code for event in events] == [200, 200]

    assert plan_of(org) == Plan.FREE
    assert PlanChange.objects.unscoped().filter(organization=org).values_list("to_plan", flat=True).first() == Plan.FREE
