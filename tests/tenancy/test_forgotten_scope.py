"""The proof of issue 15's "tenancy that fails closed": code that forgets the organization fails
loudly instead of reading or changing another organization's rows, in a service, in an API view and
in the admin, while the code that does scope keeps working."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIRequestFactory

from catalog.models import Run, RunStatus
from orgs.models import Membership, Role
from orgs.tenancy import UnscopedQueryError
from tests.console import world
from workflows.api.views import RunViewSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds(org_a, org_b):
    return world.build(org_a, runs=2), world.build(org_b, runs=2)


def statuses():
    return sorted(Run.objects.unscoped().values_list("run_id", "status"))


def cancel_failed_runs(organization) -> int:
    """A service-shaped function with the classic bug: `organization` is taken and never used."""
    return Run.objects.filter(status=RunStatus.FAILED).update(status=RunStatus.CANCELLED)


def test_a_service_that_forgets_the_organization_raises_and_changes_nothing(worlds, org_a):
    before = statuses()
    with pytest.raises(UnscopedQueryError, match=r"Run\.objects without a scope"):
        cancel_failed_runs(org_a)
    assert statuses() == before  # org B's failed run is still failed


class ForgetfulRunViewSet(RunViewSet):
    """A test-only view whose bypass forgot to say `.unscoped()`."""

    def dangerously_get_unscoped_queryset(self):
        return Run.objects.select_related("pipeline")


def test_an_api_view_that_forgets_the_scope_raises_instead_of_answering_with_another_organizations_run(
    worlds, org_a, make_key
):
    request = APIRequestFactory().get("/api/v1/runs/org_b-run-0000", HTTP_X_API_KEY=make_key(org_a, Role.READ))
    view = ForgetfulRunViewSet.as_view({"get": "retrieve"})
    with pytest.raises(UnscopedQueryError):
        view(request, run_id="org_b-run-0000")
    # The real view, scoped by its sealed get_queryset: org B's run is simply not found.
    assert RunViewSet.as_view({"get": "retrieve"})(request, run_id="org_b-run-0000").status_code == 404


def membership_form(organization, membership, role):
    data = {
        "slug": organization.slug,
        "name": organization.name,
        "plan": organization.plan,
        "is_active": "on",
        "billing_email": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-organization": str(organization.pk),
        "memberships-0-user": str(membership.user_id),
        "memberships-0-role": role,
    }
    for prefix in ("api_keys",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0"})
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    return data


def test_staff_edit_a_membership_inline_and_a_posted_row_of_another_organization_is_refused(admin_client, org_a, org_b):
    from orgs import services

    ada = get_user_model().objects.create_user("ada", "ada@a.example")
    mine = services.add_member(organization=org_a, user=ada, role=Role.READ)
    theirs = services.add_member(organization=org_b, user=ada, role=Role.READ)
    url = f"/admin/orgs/organization/{org_a.pk}/change/"

    response = admin_client.post(url, membership_form(org_a, mine, Role.ADMIN))
    assert response.status_code == 302, response.content.decode()[:2000]
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN

    # The row id is looked up among this organization's rows only: org B's membership is not editable here.
    response = admin_client.post(url, membership_form(org_a, theirs, Role.ADMIN))
    assert response.status_code == 200
    assert Membership.objects.for_organization(org_b).get().role == Role.READ
