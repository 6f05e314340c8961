"""Late pipelines in the console (issue 16): the landing page lists them, the pipelines list flags and filters
them, and an admin pauses and unpauses, within their own organizations only."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import LogEntry

from catalog.late_detection import detect_late_pipelines
from catalog.models import Pipeline
from console.admin import catalog as catalog_admin
from tests.console.members import member_client
from tests.lineage.factories import make_pipeline

pytestmark = pytest.mark.django_db
CREATED = datetime(2026, 6, 1, 10, 5, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 11, 30, tzinfo=UTC)


def scheduled(organization, name, **fields):
    pipeline = make_pipeline(organization, name)
    Pipeline.objects.unscoped().filter(pk=pipeline.pk).update(
        schedule="0 * * * *", created_at=CREATED, expected_since=CREATED, **fields
    )
    return pipeline


@pytest.fixture
def late_world(org_a, org_b):
    scheduled(org_a, "a_late_hourly")
    scheduled(org_a, "a_paused_hourly", paused=True)
    scheduled(org_b, "b_late_hourly")
    detect_late_pipelines(now=NOW)


def test_the_landing_page_lists_the_users_late_pipelines_only(client, org_a, late_world):
    page = member_client(client, org_a, ["view_pipeline"]).get("/admin/").content.decode()
    panel = page[page.index('id="late-pipelines"') : page.index('id="failed-checks"')]
    assert "a_late_hourly" in panel and "late: missed slot" in panel and "2026-06-01 11:00" in panel
    assert "a_paused_hourly" not in panel
    assert "b_late_hourly" not in page


def test_the_landing_page_says_when_nothing_is_late(admin_client, org_a):
    scheduled(org_a, "fine")
    detect_late_pipelines(now=datetime(2026, 6, 1, 10, 30, tzinfo=UTC))
    assert "No pipeline is late." in admin_client.get("/admin/").content.decode()


def test_the_pipelines_list_flags_and_filters_lateness(admin_client, late_world):
    page = admin_client.get("/admin/catalog/pipeline/?state=late")
    assert {p.name for p in page.context["cl"].result_list} == {"a_late_hourly", "b_late_hourly"}
    assert "late: missed slot" in page.content.decode()
    paused = admin_client.get("/admin/catalog/pipeline/?state=paused")
    assert [p.name for p in paused.context["cl"].result_list] == ["a_paused_hourly"]


def test_an_admin_pauses_and_unpauses_their_own_pipelines_only(client, org_a, late_world):
    admin = member_client(client, org_a, ["view_pipeline", "change_pipeline"])
    theirs = Pipeline.objects.unscoped().get(name="b_late_hourly")
    mine = Pipeline.objects.unscoped().get(name="a_late_hourly")
    response = admin.post(
        "/admin/catalog/pipeline/",
        {"action": "pause_selected", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    assert "Paused 1 pipeline(s)." in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.paused, mine.late_slot) == (True, None)  # pausing clears the lateness at once
    assert (theirs.paused, theirs.late_reason) == (False, "missed_slot")
    admin.post("/admin/catalog/pipeline/", {"action": "unpause_selected", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.paused is False and mine.expected_since > NOW
    page = admin.get(f"/admin/catalog/pipeline/{mine.pk}/history/").content.decode()
    assert "Paused from the operator console." in page and "Unpaused from the operator console." in page


def test_select_all_pauses_and_unpauses_every_pipeline_of_the_users_organizations_past_a_batch(
    client, org_a, late_world
):
    # One more than a batch: the action once stopped, silently, after the first 1,000.
    Pipeline.objects.bulk_create(
        Pipeline(organization=org_a, name=f"bulk-{i:04}") for i in range(catalog_admin.PAUSE_BATCH + 1)
    )
    admin = member_client(client, org_a, ["view_pipeline", "change_pipeline"])
    one_on_the_page = Pipeline.objects.unscoped().get(name="a_late_hourly").pk
    every = {"_selected_action": [one_on_the_page], "select_across": "1"}

    paused = admin.post("/admin/catalog/pipeline/", {"action": "pause_selected", **every}, follow=True)
    assert "Paused 1002 pipeline(s)." in paused.content.decode()  # a_paused_hourly was paused already
    assert not Pipeline.objects.for_organization(org_a).filter(paused=False).exists()
    assert Pipeline.objects.unscoped().get(name="b_late_hourly").paused is False  # another organization's
    history = LogEntry.objects.filter(change_message="Paused from the operator console.")
    assert history.count() == 1002 and history.filter(object_repr="bulk-1000").exists()

    unpaused = admin.post("/admin/catalog/pipeline/", {"action": "unpause_selected", **every}, follow=True)
    assert "Unpaused 1003 pipeline(s)." in unpaused.content.decode()
    assert not Pipeline.objects.for_organization(org_a).filter(paused=True).exists()
    assert LogEntry.objects.filter(change_message="Unpaused from the operator console.").count() == 1003


def test_pausing_needs_the_change_permission(client, org_a, late_world):
    viewer = member_client(client, org_a, ["view_pipeline"])
    assert "pause_selected" not in viewer.get("/admin/catalog/pipeline/").content.decode()
    mine = Pipeline.objects.unscoped().get(name="a_late_hourly")
    viewer.post("/admin/catalog/pipeline/", {"action": "pause_selected", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.paused is False


def test_the_pipeline_page_shows_schedule_and_lateness(admin_client, late_world):
    mine = Pipeline.objects.unscoped().get(name="a_late_hourly")
    page = admin_client.get(f"/admin/catalog/pipeline/{mine.pk}/change/").content.decode()
    assert "Schedule and lateness" in page and "late: missed slot" in page


@pytest.mark.parametrize(
    "query",
    ["state=late", "state=late&state=paused", "state=sleepy", "state=late'--", "state=%00", "state=late&o=7.-1"],
)
def test_the_lateness_filter_shows_only_the_users_organization_whatever_the_query(client, org_a, late_world, query):
    viewer = member_client(client, org_a, ["view_pipeline"])
    response = viewer.get(f"/admin/catalog/pipeline/?{query}")
    # An unknown lookup is the admin's redirect to ?e=1, a NUL the request guard's 400: never a 500.
    assert response.status_code in (200, 302, 400), response.status_code
    assert "b_late_hourly" not in response.content.decode()
    if response.status_code == 200:
        assert {p.organization_id for p in response.context["cl"].result_list} <= {org_a.pk}
