"""Console pages an operator relies on, through Django's test client: the dataset lineage trees on
awkward graphs, comparing pipeline versions, durations, and the API key pages' guarantees."""

from datetime import datetime, timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model

from console.display import duration
from orgs import services
from orgs.models import ApiKey
from tests.console import world
from tests.lineage.factories import make_check, make_dataset, make_edge, make_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    return client


def test_a_diamond_is_expanded_once_and_a_cycle_stops(staff_client, org_a):
    """raw feeds left and right, both feed mart; mart feeds back into raw (a cycle)."""
    etl = make_pipeline(org_a, "etl")
    raw, left, right, mart = (make_dataset(org_a, name) for name in ("raw", "left", "right", "mart"))
    for source, target in ((raw, left), (raw, right), (left, mart), (right, mart), (mart, raw)):
        make_edge(org_a, source, target, etl)
    make_check(org_a, "chk_mart_fresh", mart, severity="error")

    page = staff_client.get(f"/admin/lineage/dataset/{raw.pk}/change/").content.decode()
    downstream = page[page.index('data-direction="downstream"') :]
    assert downstream.count(f'href="/admin/lineage/dataset/{mart.pk}/change/"') == 2
    assert "(shown above)" in downstream  # mart, reached through left then right, expands once
    assert "chk_mart_fresh" in page


def test_a_dataset_without_lineage_says_so(staff_client, org_a):
    lonely = make_dataset(org_a, "lonely")
    page = staff_client.get(f"/admin/lineage/dataset/{lonely.pk}/change/").content.decode()
    assert "No upstream dataset." in page and "No downstream dataset." in page
    assert "No check would be affected." in page


def test_comparing_versions(staff_client, org_a):
    pipeline = world.build(org_a, runs=0, versions=3)["pipeline"]
    url = f"/admin/catalog/pipeline/{pipeline.pk}/compare/"
    latest = staff_client.get(url).content.decode()  # the current version against the one before
    assert "+  &quot;schedule&quot;: &quot;3 7 * * *&quot;" in latest
    assert "-  &quot;schedule&quot;: &quot;2 7 * * *&quot;" in latest
    chosen = staff_client.get(url, {"from": "1", "to": "3"}).content.decode()
    assert "-  &quot;schedule&quot;: &quot;1 7 * * *&quot;" in chosen
    first = staff_client.get(url, {"to": "1"}).content.decode()
    assert "+++ 1" in first and "(none)" in first  # the first version: all of it is new
    same = staff_client.get(url, {"from": "2", "to": "2"}).content.decode()
    assert "The two specs are identical." in same
    assert staff_client.get(url, {"to": "9"}).status_code == 404


@pytest.mark.parametrize(("seconds", "shown"), [(42, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min"), (-5, "0 s")])
def test_durations_read_at_a_glance(seconds, shown):
    start = datetime(2026, 1, 1, 6, 0)
    assert duration(start, start + timedelta(seconds=seconds)) == shown
    assert duration(start, None) == "-" and duration(None, start) == "-"


def test_the_new_key_page_is_not_cached_and_the_key_is_in_no_log(staff_client, org_a):
    response = staff_client.post(
        "/admin/orgs/apikey/add/", {"organization": org_a.pk, "name": "deployer", "role": "write"}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    full_key = response.context["full_key"]
    assert full_key in response.content.decode()
    key = ApiKey.objects.unscoped().get(name="deployer")
    assert full_key[len("dxp_") :] not in key.digest
    assert all(full_key not in str(entry.change_message) + entry.object_repr for entry in LogEntry.objects.all())


def test_revoking_needs_a_post_and_is_logged_once(staff_client, org_a):
    key, _ = services.create_api_key(organization=org_a, name="old", role="read")
    url = f"/admin/orgs/apikey/{key.pk}/revoke/"
    assert staff_client.get(url).status_code == 405
    assert staff_client.post(url).status_code == 302
    assert staff_client.post(url).status_code == 302  # already revoked: nothing more happens
    key.refresh_from_db()
    assert key.revoked_at is not None
    entries = LogEntry.objects.filter(object_id=str(key.pk), action_flag=CHANGE)
    assert [entry.get_change_message() for entry in entries] == ["Revoked."]
    assert staff_client.post("/admin/orgs/apikey/999999/revoke/").status_code == 404


def test_the_revoke_action_logs_each_key(staff_client, org_a):
    keys = [services.create_api_key(organization=org_a, name=f"k{i}", role="read")[0] for i in range(2)]
    staff_client.post(
        "/admin/orgs/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk for key in keys]},
    )
    assert ApiKey.objects.unscoped().filter(revoked_at__isnull=True).count() == 0
    assert LogEntry.objects.filter(action_flag=CHANGE, change_message="Revoked.").count() == 2


def test_an_organization_user_cannot_revoke_keys(client, org_a):
    user = get_user_model().objects.create_user("alice", "a@a.example", "pw-for-tests-only", is_staff=True)
    services.add_member(organization=org_a, user=user)
    key, _ = services.create_api_key(organization=org_a, name="k", role="read")
    client.force_login(user)
    assert client.post(f"/admin/orgs/apikey/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_pipeline_page_links_to_its_runs_and_its_checks_results(staff_client, org_a, org_b):
    mine = world.build(org_a, runs=2)["pipeline"]
    world.build(org_b, runs=2)
    page = staff_client.get(f"/admin/catalog/pipeline/{mine.pk}/change/")
    html = page.content.decode()
    runs_link = html.split('id="all-runs" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    runs = staff_client.get(runs_link)
    assert runs.status_code == 200
    assert {run.pipeline_id for run in runs.context["cl"].result_list} == {mine.pk}
    check_link = html.split('href="/admin/checks/checkresult/?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    results = staff_client.get(f"/admin/checks/checkresult/?{check_link}")
    assert results.status_code == 200
    assert {result.organization_id for result in results.context["cl"].result_list} <= {org_a.pk}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/run/?pipeline=a%00b",  # console.filters.PipelineFilter
        "/admin/lineage/lineageedge/?pipeline_name=a%00b",  # a text filter
        "/admin/lineage/openlineageevent/?run_id=a%00b",  # a plain field lookup
        "/admin/orgs/organization/?plan=free%00",  # a choices filter on a staff page
        "/admin/checks/checkresult/?q=a%00b",  # the search box
        "/admin/catalog/run/?a%00b=1",  # a parameter's name
        "/admin/?x=%00",
    ],
)
def test_a_nul_character_in_a_console_query_string_is_a_400_not_a_database_error(staff_client, org_a, url):
    world.build(org_a, runs=1)
    staff_client.raise_request_exception = False
    assert staff_client.get(url).status_code == 400
    assert staff_client.get(url.replace("%00", "")).status_code in (200, 302)  # the same page without it works
