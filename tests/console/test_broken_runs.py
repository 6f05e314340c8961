"""A run broken by an error-severity check looks broken everywhere an operator or a DAG looks:
the run's API detail and the console's landing page apply the same rule (checks.health)."""

import pytest
from django.contrib.auth import get_user_model

from checks.models import CheckResult
from tests.checks.factories import make_run, register_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    return client


def _run_with_one_result(organization, status, severity):
    """A succeeded run whose only check result is (status, severity): only the check can make it look broken."""
    pipeline = register_pipeline(organization, "orders_sync")
    run = make_run(organization, pipeline, "run-1", status="succeeded")
    CheckResult.objects.create(
        organization=organization,
        result_id="res-1",
        check_id="chk_amounts",
        status=status,
        severity=severity,
        run=run,
        pipeline=pipeline,
    )
    return run


def _failing_pipelines_panel(staff_client) -> str:
    page = staff_client.get("/admin/").content.decode()
    return page[page.index('id="failing-pipelines"') : page.index('id="failed-checks"')]


@pytest.mark.parametrize(
    ("status", "severity", "health", "broken"),
    [
        ("fail", "error", "failing", True),
        ("fail", "warn", "degraded", False),  # a warning, by definition, does not break the run
        ("error", "error", "degraded", False),  # the check could not run: nothing proves the data wrong
        ("pass", "error", "passing", False),
    ],
)
def test_the_api_and_the_console_agree_on_a_broken_run(client_a, staff_client, org_a, status, severity, health, broken):
    _run_with_one_result(org_a, status, severity)

    detail = client_a.get("/api/v1/runs/run-1").json()
    assert (detail["health"], detail["failed_error_checks"]) == (health, int(broken))

    panel = _failing_pipelines_panel(staff_client)
    assert ("orders_sync" in panel and "chk_amounts" in panel) is broken
    assert ("No pipeline is failing." in panel) is not broken


def test_an_errored_check_still_shows_among_the_failed_checks(staff_client, org_a):
    """Not broken, but not hidden either: the on-call sees the check that could not run."""
    _run_with_one_result(org_a, "error", "error")
    page = staff_client.get("/admin/").content.decode()
    assert "chk_amounts" in page[page.index('id="failed-checks"') :]
