"""What the on-call sees first: failing pipelines, recent failed checks, runs in progress.

Every list is bounded and reads its related rows in the same query.
"""

from datetime import timedelta

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from catalog.models import Pipeline, Run, RunStatus
from checks.models import CheckResult, CheckStatus, Severity

DASHBOARD_ROWS = 25
RECENT = timedelta(hours=24)


def _scoped(queryset, scope):
    return queryset if scope is None else queryset.filter(organization__in=scope)


def failing_pipelines(scope, now=None):
    since = (now or timezone.now()) - RECENT
    latest_run = Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at", "-id")
    failed_error_check = CheckResult.objects.filter(
        pipeline=OuterRef("pk"), severity=Severity.ERROR, status=CheckStatus.FAIL, executed_at__gte=since
    ).order_by("-executed_at", "-id")
    pipelines = (
        _scoped(Pipeline.objects.all(), scope)
        .select_related("organization", "current_version")
        .annotate(
            latest_run_status=Subquery(latest_run.values("status")[:1]),
            latest_run_id=Subquery(latest_run.values("run_id")[:1]),
            latest_run_pk=Subquery(latest_run.values("pk")[:1]),
            failed_check_id=Subquery(failed_error_check.values("check_id")[:1]),
        )
        .filter(Q(latest_run_status=RunStatus.FAILED) | Q(failed_check_id__isnull=False))
        .order_by("organization__slug", "name")
    )
    return list(pipelines[:DASHBOARD_ROWS])


def recent_failed_checks(scope, now=None):
    since = (now or timezone.now()) - RECENT
    results = _scoped(CheckResult.objects.all(), scope).filter(
        status__in=[CheckStatus.FAIL, CheckStatus.ERROR], executed_at__gte=since
    )
    return list(
        results.select_related("organization", "pipeline", "run").order_by("-executed_at", "-id")[:DASHBOARD_ROWS]
    )


def runs_in_progress(scope):
    runs = _scoped(Run.objects.all(), scope).filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    return list(
        runs.select_related("organization", "pipeline", "pipeline_version").order_by("-created_at", "-id")[
            :DASHBOARD_ROWS
        ]
    )
