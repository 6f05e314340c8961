"""What issue 14 asked of the console, through Django's test client: results that cannot be deleted,
Stripe's raw tables kept from everyone but superusers, the overrun rule, a run's worst check, and the
lists' query counts with running runs on them."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Run, RunStatus
from checks.models import CheckResult
from console import selectors
from console.display import short_run_id
from tests.console import world
from tests.console.members import member_client
from tests.lineage.factories import make_pipeline

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", PASSWORD))
    return client


def run_of(organization, pipeline, run_id, minutes, status=RunStatus.SUCCESS, started=None):
    started = started or timezone.now() - timedelta(days=1)
    event = {"organization": organization, "pipeline": pipeline, "run_id": run_id}
    catalog_services.apply_run_event(**event, status=RunStatus.RUNNING, started_at=started)
    if status != RunStatus.RUNNING:
        catalog_services.apply_run_event(**event, status=status, finished_at=started + timedelta(minutes=minutes))
    return Run.objects.for_organization(organization).get(run_id=run_id)


# --- Check results are history: no add, change or delete, not even by the bulk action.


@pytest.mark.parametrize("page", ["checkresult", "failedcheckresult"])
def test_check_results_cannot_be_deleted_one_by_one_or_in_bulk(staff_client, org_a, page):
    rows = world.build(org_a, runs=1, results_per_run=2)
    result = rows["result"]
    changelist = staff_client.get(f"/admin/checks/{page}/")
    assert b"delete_selected" not in changelist.content
    bulk = staff_client.post(
        f"/admin/checks/{page}/", {"action": "delete_selected", "_selected_action": [result.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert staff_client.get(f"/admin/checks/{page}/{result.pk}/delete/").status_code == 403
    assert staff_client.post(f"/admin/checks/{page}/{result.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.get(f"/admin/checks/{page}/add/").status_code == 403
    assert CheckResult.objects.for_organization(org_a).filter(pk=result.pk).exists()
    page_html = staff_client.get(f"/admin/checks/{page}/{result.pk}/change/").content.decode()
    assert "deletelink" not in page_html and 'name="_save"' not in page_html


# --- Stripe's raw tables: superusers only, folded last on the landing page.


def test_a_superuser_finds_stripes_tables_folded_after_the_operators_apps(staff_client):
    html = staff_client.get("/admin/").content.decode()
    folded = html.index('<details class="module stripe-tables" id="stripe-tables">')
    assert "/admin/djstripe/" in html[folded:] and "/admin/djstripe/" not in html[:folded]
    assert html.index("/admin/catalog/run/") < folded
    assert staff_client.get("/admin/djstripe/customer/").status_code == 200


def test_staff_without_superuser_never_see_stripes_tables_whatever_their_permissions(client, org_a):
    stripe_views = Permission.objects.filter(content_type__app_label="djstripe", codename__startswith="view_")
    member = member_client(client, org_a, ["view_run", *stripe_views.values_list("codename", flat=True)])
    html = member.get("/admin/").content.decode()
    assert "djstripe" not in html and "stripe-tables" not in html
    assert "/admin/catalog/run/" in html
    assert member.get("/admin/djstripe/customer/").status_code == 403
    assert member.get("/admin/djstripe/").status_code in (403, 404)


# --- Overrunning runs: running longer than twice the median of the pipeline's last 20 successful runs.


def test_a_run_past_twice_its_pipelines_median_is_flagged_and_one_within_it_is_not(org_a):
    pipeline = make_pipeline(org_a, "nightly")
    for number, minutes in enumerate([10, 12, 11, 60, 9]):  # median 11 min, an outlier included
        run_of(org_a, pipeline, f"ok-{number}", minutes)
    run_of(org_a, pipeline, "broken", 500, status=RunStatus.FAILED)  # failures never count
    now = timezone.now()
    late = run_of(org_a, pipeline, "late", 0, RunStatus.RUNNING, started=now - timedelta(minutes=23))
    on_time = run_of(org_a, pipeline, "on-time", 0, RunStatus.RUNNING, started=now - timedelta(minutes=21))
    flagged = selectors.overruns([late, on_time], now=now)
    assert set(flagged) == {late.pk}
    assert flagged[late.pk].usual == timedelta(minutes=11)
    assert round(flagged[late.pk].factor, 1) == 2.1


def test_only_the_last_20_successful_runs_make_the_usual_duration(org_a):
    pipeline = make_pipeline(org_a, "nightly")
    base = timezone.now() - timedelta(days=30)
    for number in range(25):  # the oldest five took an hour; the last twenty 5 minutes
        run_of(org_a, pipeline, f"ok-{number}", 60 if number < 5 else 5, started=base + timedelta(days=number))
    assert selectors.usual_durations([pipeline.pk]) == {pipeline.pk: timedelta(minutes=5)}


def test_no_usual_duration_without_three_successful_runs_and_queued_runs_are_never_flagged(org_a):
    pipeline = make_pipeline(org_a, "young")
    run_of(org_a, pipeline, "ok-1", 1)
    run_of(org_a, pipeline, "ok-2", 1)
    running = run_of(org_a, pipeline, "running", 0, RunStatus.RUNNING, started=timezone.now() - timedelta(days=1))
    assert selectors.overruns([running]) == {}
    queued = Run(organization=org_a, pipeline=pipeline, run_id="queued", status=RunStatus.QUEUED)
    assert selectors.overruns([queued]) == {}


def test_the_overrun_check_is_one_query_for_any_number_of_pipelines(org_a, django_assert_num_queries):
    running = []
    for index in range(6):
        pipeline = make_pipeline(org_a, f"p{index}")
        for number in range(3):
            run_of(org_a, pipeline, f"p{index}-ok-{number}", 5)
        running.append(
            run_of(org_a, pipeline, f"p{index}-now", 0, RunStatus.RUNNING, started=timezone.now() - timedelta(hours=1))
        )
    with django_assert_num_queries(1):
        flagged = selectors.overruns(running)
    assert len(flagged) == 6


def test_the_runs_list_and_landing_page_cost_the_same_with_few_or_many_running_runs(staff_client, org_a, org_b):
    def running_world(organization, pipelines):
        for index in range(pipelines):
            pipeline = make_pipeline(organization, f"{organization.slug}-p{index}")
            for number in range(3):
                run_of(organization, pipeline, f"{organization.slug}-{index}-ok-{number}", 5)
            run_of(organization, pipeline, f"{organization.slug}-{index}-now", 0, RunStatus.RUNNING)

    def counts():
        measured = {}
        for name, url in (("landing", "/admin/"), ("runs", "/admin/catalog/run/")):
            with CaptureQueriesContext(connection) as queries:
                response = staff_client.get(url)
            assert response.status_code == 200 and "x usual" in response.content.decode()
            measured[name] = len(queries)
        return measured

    running_world(org_a, 1)
    counts()  # warms the content-type cache
    few = counts()
    running_world(org_b, 12)
    assert counts() == few


# --- A run's worst check and the cells that show it.


def test_a_runs_worst_check_is_a_failure_before_an_error_then_the_higher_severity(org_a):
    pipeline = make_pipeline(org_a, "nightly")
    run = run_of(org_a, pipeline, "r1", 5, status=RunStatus.FAILED)
    for result_id, status, severity, error in (
        ("a", "error", "error", "connection refused\nat line 2"),
        ("b", "fail", "warn", ""),
        ("c", "fail", "error", ""),
        ("d", "pass", "error", ""),
    ):
        CheckResult.objects.create(
            organization=org_a,
            result_id=result_id,
            check_id=f"chk_{result_id}",
            pipeline=pipeline,
            run=run,
            status=status,
            severity=severity,
            violations=3 if status == "fail" else None,
            error_message=error,
        )
    worst = selectors.with_worst_check(Run.objects.for_organization(org_a)).get(pk=run.pk).worst_check
    assert (worst["check_id"], worst["status"], worst["severity"], worst["violations"]) == ("chk_c", "fail", "error", 3)
    healthy = run_of(org_a, pipeline, "r2", 5)
    assert selectors.with_worst_check(Run.objects.for_organization(org_a)).get(pk=healthy.pk).worst_check is None


def test_run_ids_are_shortened_at_the_end_that_differs():
    airflow = "orders_sync__scheduled__2026-12-01T06:00:00+00:00"
    assert short_run_id(airflow, "orders_sync") == "sche…2026-12-01T06:00:00"
    assert short_run_id("manual__incident-42", "revenue_report") == "manual__incident-42"
    assert short_run_id("revenue_report__manual__incident-42", "revenue_report") == "manual__incident-42"
    assert len(short_run_id("x" * 200)) == 24
