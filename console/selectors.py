"""What the on-call sees first: failing pipelines, recent failed checks, runs in progress.

Every list is bounded and reads its related rows in the same query.
"""

import difflib
import json
from datetime import timedelta

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Pipeline, Run, RunStatus
from checks.health import BREAKS_RUN
from checks.models import CheckResult, CheckStatus
from lineage.models import Dataset
from orgs.admin_scoping import restrict

DASHBOARD_ROWS = 25
RECENT = timedelta(hours=24)


def failing_pipelines(scope, now=None):
    since = (now or timezone.now()) - RECENT
    latest_run = Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at", "-id")
    # A pipeline is failing when its latest run failed or a run of it was broken by a check (checks.health).
    failed_error_check = CheckResult.objects.filter(
        BREAKS_RUN, pipeline=OuterRef("pk"), executed_at__gte=since
    ).order_by("-executed_at", "-id")
    pipelines = (
        restrict(Pipeline.objects.all(), scope)
        .select_related("organization", "current_version")
        .defer("current_version__spec", "description", "tags")
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
    results = restrict(CheckResult.objects.all(), scope).filter(
        status__in=[CheckStatus.FAIL, CheckStatus.ERROR], executed_at__gte=since
    )
    return list(
        results.select_related("organization", "pipeline", "run")
        .defer("run__attributes", "pipeline__description", "pipeline__tags", "sql")
        .order_by("-executed_at", "-id")[:DASHBOARD_ROWS]
    )


def runs_in_progress(scope):
    runs = restrict(Run.objects.all(), scope).filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    return list(
        runs.select_related("organization", "pipeline", "pipeline_version")
        .defer("pipeline_version__spec", "pipeline__description", "pipeline__tags", "attributes")
        .order_by("-created_at", "-id")[:DASHBOARD_ROWS]
    )


# --- The pipeline page: a fixed number of bounded queries, whatever the pipeline's history.

PIPELINE_PAGE_ROWS = 10
VERSIONS_SHOWN = 50


def pipeline_latest_runs(pipeline):
    runs = catalog_selectors.run_history(pipeline).defer("attributes").order_by("-created_at", "-id")
    return list(runs[:PIPELINE_PAGE_ROWS])


def pipeline_checks(pipeline):
    """The checks of the current version (and ad hoc checks on the pipeline), with their datasets."""
    live = Q(pipeline_version__isnull=True) | Q(pipeline_version_id=pipeline.current_version_id)
    return list(
        pipeline.check_definitions.filter(live).select_related("dataset").order_by("check_id", "id")[:VERSIONS_SHOWN]
    )


def pipeline_datasets(pipeline):
    """(read, written): the datasets on the pipeline's lineage edges, sources and targets."""
    edges = pipeline.lineage_edges.all()
    datasets = Dataset.objects.for_organization(pipeline.organization_id)
    read = datasets.filter(pk__in=edges.values("source_id")).order_by("dataset_id", "namespace")
    written = datasets.filter(pk__in=edges.values("target_id")).order_by("dataset_id", "namespace")
    return list(read[:VERSIONS_SHOWN]), list(written[:VERSIONS_SHOWN])


def spec_lines(version) -> list[str]:
    """A spec as canonical JSON lines: sorted keys, so a diff shows changes, not key order."""
    return json.dumps(version.spec, indent=2, sort_keys=True).splitlines() if version else []


def spec_diff(older, newer) -> list[tuple[str, str]]:
    """(css class, line) pairs of a unified diff from `older` (None: nothing) to `newer`."""
    lines = difflib.unified_diff(
        spec_lines(older),
        spec_lines(newer),
        fromfile=older.version if older else "(none)",
        tofile=newer.version,
        lineterm="",
        n=3,
    )
    classes = {"+": "diff-add", "-": "diff-del", "@": "diff-hunk"}
    return [(classes.get(line[:1], "") if not line.startswith(("+++", "---")) else "diff-file", line) for line in lines]
