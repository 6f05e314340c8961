"""What the on-call sees first: failing pipelines, late pipelines, recent failed checks, runs in progress; a run's worst
failed check; the rule for runs running longer than usual (`overruns`); the pipeline page's reads.

Every list is bounded and reads its related rows in the same query.
"""

import difflib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, IntegerField, JSONField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import JSONObject, Substr
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.lateness import OVERRUN_FACTOR
from catalog.models import Pipeline, Run, RunStatus
from catalog.selectors import usual_durations
from checks.health import BREAKS_RUN
from checks.models import CheckResult, CheckStatus, Severity
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


def late_pipelines(scope):
    """Pipelines late now (catalog.lateness, set by the beat's pass), longest late first."""
    pipelines = restrict(Pipeline.objects.all(), scope).filter(late_slot__isnull=False)
    return list(
        pipelines.select_related("organization")
        .only(
            "name",
            "schedule",
            "schedule_timezone",
            "paused",
            "late_reason",
            "late_slot",
            "late_detected_at",
            "organization__slug",
        )
        .order_by("late_slot", "organization__slug", "name")[:DASHBOARD_ROWS]
    )


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


# --- What went wrong in a run, read in the run's own query (one correlated subquery, no query per row).

_FAILED_FIRST = Case(When(status=CheckStatus.FAIL, then=Value(0)), default=Value(1), output_field=IntegerField())
_SEVERE_FIRST = Case(
    When(severity=Severity.ERROR, then=Value(0)),
    When(severity=Severity.WARN, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def with_worst_check(runs):
    """`runs` annotated with `worst_check`: the run's worst failed or errored check result (a failure before
    an error, then the higher severity, then the newest) as a dict of check_id, status, severity,
    error_message, violations and threshold; None when none failed. The Runs list and a run's page show
    it as the run's severity and the first line of its error."""
    worst = (
        CheckResult.objects.filter(run=OuterRef("pk"), status__in=[CheckStatus.FAIL, CheckStatus.ERROR])
        .order_by(_FAILED_FIRST.asc(), _SEVERE_FIRST.asc(), "-executed_at", "-id")
        .values(
            summary=JSONObject(
                check_id="check_id",
                status="status",
                severity="severity",
                error_message=Substr("error_message", 1, ERROR_CHARS_READ),
                violations="violations",
                threshold="threshold",
            )
        )[:1]
    )
    return runs.annotate(worst_check=Subquery(worst, output_field=JSONField()))


ERROR_CHARS_READ = 500  # enough for any first line worth showing; a stack trace is not read whole per row


# --- Overrunning runs: the one definition of "running longer than usual".

# The usual duration (median of the last successful runs) and the factor are the catalog's: late pipelines use
# them too (catalog.lateness), so the console's flag and the late verdict never disagree.


@dataclass(frozen=True)
class Overrun:
    elapsed: timedelta
    usual: timedelta

    @property
    def factor(self) -> float:
        return self.elapsed / self.usual


def overruns(runs, now=None) -> dict[int, Overrun]:
    """Run pk -> Overrun for each running run of `runs` that has been running longer than OVERRUN_FACTOR
    (2) times its pipeline's usual duration (`usual_durations`). A queued run, a finished one and a run of
    a pipeline without a usual duration are never flagged. At most one query, whatever the number of runs."""
    now = now or timezone.now()
    running = [run for run in runs if run.status == RunStatus.RUNNING and run.started_at]
    usual = usual_durations(run.pipeline_id for run in running)
    flagged = {}
    for run in running:
        elapsed = now - run.started_at
        if run.pipeline_id in usual and elapsed > OVERRUN_FACTOR * usual[run.pipeline_id]:
            flagged[run.pk] = Overrun(elapsed=elapsed, usual=usual[run.pipeline_id])
    return flagged
