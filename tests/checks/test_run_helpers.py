"""The read the catalog's run detail uses: a run's results (its verdict: tests/checks/test_health.py)."""

from checks import selectors
from checks.api.serializers import CheckResultSerializer
from checks.models import CheckResult
from tests.checks.factories import make_run, register_pipeline


def _result(run, result_id, status, severity):
    return CheckResult.objects.create(organization=run.organization, result_id=result_id, check_id=result_id,
                                      status=status, severity=severity, run=run, pipeline=run.pipeline)


def test_a_runs_results_serialize_without_extra_queries(org_a, django_assert_num_queries):
    pipeline = register_pipeline(org_a, "orders_sync")
    run = make_run(org_a, pipeline, "run-1")
    for index in range(5):
        _result(run, f"r{index}", "fail", "error")
    with django_assert_num_queries(1):
        rows = CheckResultSerializer(selectors.results_for_run(run), many=True).data
    assert {row["run_id"] for row in rows} == {"run-1"}
    assert len(rows) == 5
