"""Staff see billing on the organization admin and can set a plan by hand, recorded in the admin log."""

import pytest
from django.contrib.admin.models import LogEntry
from djstripe.models import Customer

from billing.models import OrganizationBilling, PlanChange, PlanSource
from orgs.models import Plan
from tests.billing.fake_stripe import make_event


def change_url(organization):
    return f"/admin/orgs/organization/{organization.pk}/change/"


def form_data(organization, **changes):
    data = {
        "slug": organization.slug,
        "name": organization.name,
        "plan": organization.plan,
        "is_active": "on",
        "billing_email": organization.billing_email,
    }
    for prefix in ("memberships", "api_keys"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0"})
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    data.update(changes)
    return data


@pytest.fixture
def org(make_org):
    return make_org("acme", plan=Plan.TEAM)


def test_staff_set_a_plan_by_hand_and_the_admin_log_records_it(admin_client, admin_user, org):
    response = admin_client.post(change_url(org), form_data(org, plan="enterprise"))

    assert response.status_code == 302, response.content.decode()[:2000]
    org.refresh_from_db()
    assert org.plan == Plan.ENTERPRISE
    change = PlanChange.objects.unscoped().get(organization=org)
    assert (change.from_plan, change.to_plan, change.source, change.changed_by) == (
        "team",
        "enterprise",
        PlanSource.STAFF,
        admin_user,
    )
    assert OrganizationBilling.objects.unscoped().get(organization=org).plan_source == PlanSource.STAFF
    entry = LogEntry.objects.get(object_id=str(org.pk))
    assert entry.user == admin_user
    assert "team -> enterprise" in entry.get_change_message()


def test_saving_without_a_plan_change_keeps_stripe_in_charge(admin_client, org):
    admin_client.post(change_url(org), form_data(org, name="Acme Inc."))

    org.refresh_from_db()
    assert org.name == "Acme Inc."
    assert not PlanChange.objects.unscoped().exists()
    assert not OrganizationBilling.objects.unscoped().filter(organization=org, plan_source=PlanSource.STAFF).exists()


def test_the_change_page_shows_limits_usage_customer_and_subscription(admin_client, org, subscribe, deliver):
    subscription = subscribe(org, "price_team_monthly")
    deliver(make_event("customer.subscription.created", subscription))
    customer = Customer.objects.get(subscriber=org)

    page = admin_client.get(change_url(org)).content.decode()

    assert customer.id in page
    assert f"{subscription['id']} (active)" in page
    assert "runs_per_month" in page  # limits and usage
    assert '<div class="readonly">Stripe subscription</div>' in page  # plan source


def test_the_list_filters_by_plan_source(admin_client, org, make_org):
    from billing.services import set_plan_by_staff

    set_plan_by_staff(make_org("contract", plan=Plan.FREE), Plan.ENTERPRISE)

    page = admin_client.get("/admin/orgs/organization/?billing__plan_source__exact=staff").content.decode()

    assert "contract" in page and "acme" not in page


def test_returning_the_plan_to_stripe_resyncs_it(admin_client, org, fake_stripe, subscribe, deliver):
    deliver(make_event("customer.subscription.created", subscribe(org, "price_team_monthly")))
    admin_client.post(change_url(org), form_data(org, plan="enterprise"))

    response = admin_client.post(
        "/admin/orgs/organization/", {"action": "return_plan_to_stripe", "_selected_action": [org.pk]}
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.plan == Plan.TEAM
    assert OrganizationBilling.objects.unscoped().get(organization=org).plan_source == PlanSource.STRIPE
    assert LogEntry.objects.filter(object_id=str(org.pk), change_message__contains="Stripe control").exists()


def test_the_plan_history_admin_is_read_only(admin_client, org):
    from billing.services import set_plan_by_staff

    set_plan_by_staff(org, Plan.ENTERPRISE)

    assert admin_client.get("/admin/billing/planchange/").status_code == 200
    assert admin_client.get("/admin/billing/planchange/add/").status_code == 403
