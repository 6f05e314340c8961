"""checks.health: the one definition of a run broken by its checks, in its query and in-memory forms."""

import itertools

import pytest

from checks import health
from checks.models import CheckResult, CheckStatus, Severity
from tests.checks.factories import make_run, register_pipeline

pytestmark = pytest.mark.django_db


def _result(run, result_id, status, severity):
    return CheckResult.objects.create(
        organization=run.organization,
        result_id=result_id,
        check_id=result_id,
        status=status,
        severity=severity,
        run=run,
        pipeline=run.pipeline,
    )


def test_only_a_failed_error_severity_check_breaks_a_run_and_both_forms_agree(org_a):
    run = make_run(org_a, register_pipeline(org_a, "orders_sync"), "run-1")
    for severity, status in itertools.product(Severity.values, CheckStatus.values):
        _result(run, f"{severity}-{status}", status, severity)
    in_sql = set(CheckResult.objects.unscoped().filter(health.BREAKS_RUN).values_list("result_id", flat=True))
    in_python = {result.result_id for result in CheckResult.objects.unscoped() if health.breaks_run(result)}
    assert in_sql == in_python == {"error-fail"}


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ([], "no_checks"),
        ([("pass", "error"), ("pass", "warn")], "passing"),
        ([("fail", "warn")], "degraded"),
        ([("error", "error")], "degraded"),  # could not run: nothing proves the data wrong
        ([("pass", "error"), ("fail", "error"), ("error", "warn")], "failing"),
    ],
)
def test_a_runs_health(org_a, results, verdict):
    run = make_run(org_a, register_pipeline(org_a, "orders_sync"), "run-1")
    rows = [_result(run, f"r{index}", status, severity) for index, (status, severity) in enumerate(results)]
    assert health.run_health(rows) == verdict
    assert health.breaking_count(rows) == (1 if verdict == "failing" else 0)
