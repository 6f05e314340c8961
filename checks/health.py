"""A run's health from its check results: the one definition of "a run broken by its checks".

A run is broken when a check of severity `error` failed: it ran and found more violations than its
threshold. A `warn` failure, or a check that could not run (status `error`: the warehouse was down,
the SQL was refused), makes the run `degraded`, not broken: nothing proves the data wrong, and an
outage of someone's warehouse must not page the owners of every pipeline reading from it.

The rule exists in two forms that must agree (tests/checks/test_health.py checks every severity
and status): `BREAKS_RUN` for queries (the console's failing pipelines) and `breaks_run` for
results already in memory (a run's API detail, which has them prefetched).
"""

from collections.abc import Iterable

from django.db.models import Q

from checks.models import CheckResult, CheckStatus, Severity

BREAKS_RUN = Q(severity=Severity.ERROR, status=CheckStatus.FAIL)


def breaks_run(result: CheckResult) -> bool:
    return result.severity == Severity.ERROR and result.status == CheckStatus.FAIL


def breaking_count(results: Iterable[CheckResult]) -> int:
    return sum(1 for result in results if breaks_run(result))


def run_health(results: Iterable[CheckResult]) -> str:
    """failing: a result breaks the run; degraded: a warning failed or a check could not run;
    passing: every check passed; no_checks: nothing recorded yet."""
    results = list(results)
    if not results:
        return "no_checks"
    if any(breaks_run(result) for result in results):
        return "failing"
    if any(result.status != CheckStatus.PASS for result in results):
        return "degraded"
    return "passing"
