"""An organization's own user in the console sees only their organization: lists, filters, the
landing page and change pages (another organization's rows are 404). Staff see every organization;
organizations and API keys are staff-only."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from orgs import services
from tests.console import world

pytestmark = pytest.mark.django_db

TENANT_PAGES = {
    "catalog/pipeline": "pipeline",
    "catalog/run": "run",
    "catalog/connection": "connection",
    "checks/checkresult": "result",
    "checks/failedcheckresult": "result",
    "lineage/dataset": "dataset",
    "lineage/lineageedge": "edge",
    "lineage/openlineageevent": "event",
}
VIEWABLE = ["pipeline", "run", "connection", "checkresult", "failedcheckresult", "dataset", "lineageedge"]


@pytest.fixture
def worlds(org_a, org_b):
    return world.build(org_a), world.build(org_b)


@pytest.fixture
def org_user_client(client, org_a):
    """is_staff, not a superuser, member of org A, with view permissions on the tenant tables."""
    user = get_user_model().objects.create_user("alice", "alice@a.example", "pw-for-tests-only", is_staff=True)
    services.add_member(organization=org_a, user=user)
    codenames = [f"view_{model}" for model in [*VIEWABLE, "openlineageevent"]]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    return client


def test_an_organization_user_lists_only_their_organization(org_user_client, worlds, org_a):
    for page in TENANT_PAGES:
        response = org_user_client.get(f"/admin/{page}/")
        assert response.status_code == 200, page
        rows = list(response.context["cl"].result_list)
        assert rows and {row.organization_id for row in rows} == {org_a.pk}, page
        assert "org_b" not in response.content.decode(), page  # no row, filter choice or link names org B


def test_another_organizations_change_and_history_pages_are_404(org_user_client, worlds):
    for page, key in TENANT_PAGES.items():
        mine, theirs = (rows[key] for rows in worlds)
        if page == "checks/failedcheckresult":
            mine, theirs = (rows["run"].check_results.get(status="fail") for rows in worlds)
        assert org_user_client.get(f"/admin/{page}/{mine.pk}/change/").status_code == 200, page
        for suffix in ("change/", "history/"):
            assert org_user_client.get(f"/admin/{page}/{theirs.pk}/{suffix}").status_code == 404, page


def test_filters_offer_only_the_users_organization(org_user_client, worlds):
    page = org_user_client.get("/admin/catalog/run/").content.decode()
    assert "?pipeline=org_a_report" in page and "org_b_report" not in page
    page = org_user_client.get("/admin/checks/checkresult/").content.decode()
    assert "org_a_revenue" in page and "org_b_revenue" not in page
    # Asking for org B's pipeline by name in the filter finds nothing.
    response = org_user_client.get("/admin/catalog/run/?pipeline=org_b_report")
    assert list(response.context["cl"].result_list) == []


def test_the_id_filters_find_nothing_of_another_organization_and_refuse_no_value_with_a_500(
    org_user_client, worlds, org_b
):
    theirs = worlds[1]
    for query in (f"organization={org_b.pk}", f"dataset={theirs['dataset'].pk}"):
        response = org_user_client.get(f"/admin/checks/checkresult/?{query}")
        assert response.status_code == 200, query
        assert list(response.context["cl"].result_list) == [], query
    # str.isdigit() says yes to these; int() says no (superscripts) or reads another script's digits.
    for value in ("\u00b2", "\u2460", "\u0661", "-1", "1.0", "x", "9" * 30, "9" * 5000, str(2**63)):
        for parameter in ("organization", "dataset"):
            response = org_user_client.get("/admin/checks/checkresult/", {parameter: value})
            assert response.status_code == 200, (parameter, value)
            assert list(response.context["cl"].result_list) == [], (parameter, value)


def test_a_deactivated_organizations_rows_leave_its_users_console(org_user_client, worlds, org_a):
    org_a.is_active = False
    org_a.save(update_fields=["is_active"])
    for page in TENANT_PAGES:
        response = org_user_client.get(f"/admin/{page}/")
        assert response.status_code == 200, page
        assert list(response.context["cl"].result_list) == [], page
    mine = worlds[0]["run"]
    assert org_user_client.get(f"/admin/catalog/run/{mine.pk}/change/").status_code == 404
    assert "org_a_report" not in org_user_client.get("/admin/").content.decode()


def test_the_landing_page_shows_only_the_users_organization(org_user_client, worlds):
    page = org_user_client.get("/admin/").content.decode()
    assert "org_a_report" in page and "org_a-run-" in page
    assert "org_b" not in page


def test_the_pipeline_pages_of_another_organization_are_404(org_user_client, worlds):
    theirs = worlds[1]["pipeline"]
    assert org_user_client.get(f"/admin/catalog/pipeline/{theirs.pk}/compare/").status_code == 404
    mine = worlds[0]["pipeline"]
    assert org_user_client.get(f"/admin/catalog/pipeline/{mine.pk}/compare/").status_code == 200


def test_organizations_keys_and_billing_are_staff_only(org_user_client, worlds, org_a):
    services.create_api_key(organization=org_a, name="k", role="read")
    for page in ("orgs/organization/", "orgs/apikey/", "orgs/usagecounter/", "billing/planchange/"):
        assert org_user_client.get(f"/admin/{page}").status_code == 403
    assert org_user_client.get(f"/admin/orgs/organization/{org_a.pk}/change/").status_code == 403
    assert "API keys" not in org_user_client.get("/admin/").content.decode()


def test_an_organization_user_cannot_cancel_runs_without_the_change_permission(org_user_client, worlds):
    response = org_user_client.get("/admin/catalog/run/")
    assert "cancel_selected" not in response.content.decode()


def test_staff_see_every_organization(staff_client, worlds, org_a, org_b):
    for page in TENANT_PAGES:
        rows = list(staff_client.get(f"/admin/{page}/").context["cl"].result_list)
        assert {row.organization_id for row in rows} == {org_a.pk, org_b.pk}, page
    theirs = worlds[1]["run"]
    assert staff_client.get(f"/admin/catalog/run/{theirs.pk}/change/").status_code == 200
