"""The operator's admin pages: results failed first, filters, the "Failed checks" page, the run inline."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from catalog.models import Run
from checks.models import CheckResult, FailedCheckResult
from console.admin.checks import CheckResultInline
from orgs import services
from orgs.models import Role
from tests.checks.factories import make_run, register_pipeline

BASE = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def results(org_a):
    pipeline = register_pipeline(org_a, "orders_sync")
    other = register_pipeline(org_a, "billing")
    run = make_run(org_a, pipeline, "run-abc123")
    rows = [
        ("chk_passing_newest", "pass", "error", pipeline, 5),
        ("chk_failing_old", "fail", "error", pipeline, 1),
        ("chk_erroring", "error", "warn", pipeline, 3),
        ("chk_failing_new", "fail", "warn", other, 4),
    ]
    for index, (check_id, status, severity, owner, hours) in enumerate(rows):
        CheckResult.objects.create(
            organization=org_a,
            result_id=f"r{index}",
            check_id=check_id,
            status=status,
            severity=severity,
            pipeline=owner,
            run=run if owner == pipeline else None,
            violations=0 if status == "pass" else 2,
            executed_at=BASE + timedelta(hours=hours),
            error_message="boom" if status == "error" else "",
        )
    return run


def order_of(content: bytes, names):
    text = content.decode()
    return sorted(names, key=text.index)


def test_results_list_failed_first_then_errors_then_passes(admin_client, results):
    response = admin_client.get("/admin/checks/checkresult/")
    assert response.status_code == 200
    names = ["chk_failing_new", "chk_failing_old", "chk_erroring", "chk_passing_newest"]
    assert order_of(response.content, names) == names


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status__exact=fail", ["chk_failing_new", "chk_failing_old"], ["chk_erroring", "chk_passing_newest"]),
        ("severity__exact=warn", ["chk_failing_new", "chk_erroring"], ["chk_failing_old"]),
        ("pipeline=billing", ["chk_failing_new"], ["chk_failing_old", "chk_erroring"]),
        (
            "executed_at__gte=2025-06-01+09:00:00%2B00:00&executed_at__lt=2025-06-02+00:00:00%2B00:00",
            ["chk_erroring"],
            ["chk_failing_old"],
        ),
        ("q=run-abc123", ["chk_failing_old"], ["chk_failing_new"]),
    ],
)
def test_filters(admin_client, results, query, shown, hidden):
    response = admin_client.get(f"/admin/checks/checkresult/?{query}")
    assert response.status_code == 200
    text = response.content.decode()
    assert all(name in text for name in shown)
    assert not any(f">{name}<" in text for name in hidden)


def test_the_failed_checks_page_shows_only_failures_and_errors_newest_first(admin_client, results):
    response = admin_client.get("/admin/checks/failedcheckresult/")
    assert response.status_code == 200
    assert b"chk_passing_newest" not in response.content
    names = ["chk_failing_new", "chk_erroring", "chk_failing_old"]
    assert order_of(response.content, names) == names
    assert FailedCheckResult._meta.verbose_name_plural == "failed checks"
    assert admin.site.is_registered(FailedCheckResult)


def test_a_member_in_the_admin_sees_only_their_organizations_results(client, org_a, org_b, results):
    CheckResult.objects.create(organization=org_b, result_id="b1", check_id="chk_of_org_b", status="fail")
    member = User.objects.create_user("member", password="pw", is_staff=True)
    member.user_permissions.add(Permission.objects.get(codename="view_checkresult"))
    services.add_member(organization=org_a, user=member, role=Role.READ)
    client.force_login(member)
    response = client.get("/admin/checks/checkresult/")
    assert response.status_code == 200
    assert b"chk_failing_old" in response.content
    assert b"chk_of_org_b" not in response.content
    other = CheckResult.objects.unscoped().get(result_id="b1")
    assert client.get(f"/admin/checks/checkresult/{other.pk}/change/").status_code in (302, 404)


def test_the_list_never_counts_the_whole_table_and_its_queries_do_not_grow(admin_client, org_a, results):
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/checks/checkresult/")
    for index in range(30):
        run = make_run(org_a, results.pipeline, f"run-{index}")
        CheckResult.objects.create(
            organization=org_a,
            result_id=f"more-{index}",
            check_id="chk",
            status="fail",
            pipeline=results.pipeline,
            run=run,
        )
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/checks/checkresult/")
    assert len(many.captured_queries) == len(few.captured_queries)
    counts = [query["sql"] for query in many.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_a_result_opens_read_only(admin_client, results):
    result = CheckResult.objects.unscoped().get(result_id="r2")
    response = admin_client.get(f"/admin/checks/checkresult/{result.pk}/change/")
    assert response.status_code == 200
    assert b"boom" in response.content
    assert b'name="_save"' not in response.content


def test_the_run_inline_lists_the_runs_results_failed_first(admin_user, results):
    request = RequestFactory().get("/")
    request.user = admin_user
    inline = CheckResultInline(Run, admin.site)
    rows = list(inline.get_queryset(request).filter(run=results))
    assert [row.check_id for row in rows] == ["chk_failing_old", "chk_erroring", "chk_passing_newest"]
    assert not inline.has_add_permission(request, results)
