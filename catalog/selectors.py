"""Reads of the catalog that are more than one line: each is one query (or a fixed few) per call."""

import statistics
from datetime import timedelta

from django.db import connections, router
from django.db.models import OuterRef, Q, QuerySet, Subquery

from catalog.models import Connection, Pipeline, PipelineVersion, Run, RunStatus

# A run row names its pipeline and version; their specs and descriptions would only be parsed and dropped.
_RUN_DEFERRED = ("pipeline_version__spec", "pipeline__description", "pipeline__tags")


def one_or_none(queryset):
    """The row of a lookup by a unique key, without the ORDER BY that first() adds."""
    return next(iter(queryset.order_by()[:1]), None)


def pipeline_for_run_events(organization, name) -> Pipeline | None:
    return one_or_none(
        Pipeline.objects.for_organization(organization)
        .filter(name=name)
        .select_related("current_version")
        .defer("description", "tags", "current_version__spec")
    )


def latest_run_status_subquery():
    latest = Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(latest.values("status")[:1])


def pipelines_with_latest_run(queryset: QuerySet[Pipeline]) -> QuerySet[Pipeline]:
    """Pipelines (of an organization-scoped `queryset`) with their current version and `latest_run_status`
    in the same query."""
    return queryset.select_related("current_version").annotate(latest_run_status=latest_run_status_subquery())


def pipelines_for_listing(queryset: QuerySet[Pipeline]) -> QuerySet[Pipeline]:
    """pipelines_with_latest_run without the current version's spec, which a list never shows."""
    return pipelines_with_latest_run(queryset).defer("current_version__spec")


def pipeline_versions(pipeline: Pipeline) -> QuerySet[PipelineVersion]:
    return pipeline.versions.select_related("pipeline").order_by("-created_at", "-id")


def run_history(pipeline: Pipeline) -> QuerySet[Run]:
    """A pipeline's runs, newest first, on the (pipeline, -created_at, -id) index."""
    return pipeline.runs.select_related("pipeline", "pipeline_version").defer(*_RUN_DEFERRED)


def run_details(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """Runs with their pipeline and version joined, without the columns a run's representation skips.

    A run's check results are another app's rows: `workflows.api` prefetches them onto these."""
    return queryset.select_related("pipeline", "pipeline_version").defer(*_RUN_DEFERRED)


def run_in_organization(organization, run_id: str) -> Run | None:
    return one_or_none(Run.objects.for_organization(organization).filter(run_id=run_id))


# What counts towards the plan's limits (orgs.limits): the catalog decides which of its rows are live.
def counted_pipelines(organization) -> QuerySet[Pipeline]:
    """Registered pipelines; those only reported by OpenLineage do not count until they are registered."""
    return Pipeline.objects.for_organization(organization).filter(is_external=False)


def counted_connections(organization) -> QuerySet[Connection]:
    return Connection.objects.for_organization(organization)


def connections_by_id(organization, connection_ids) -> dict:
    """connection id -> the organization's own Connection of that id (others' never)."""
    return {
        c.connection_id: c
        for c in Connection.objects.for_organization(organization).filter(connection_id__in=list(connection_ids))
    }


# --- A pipeline's usual duration: the console's overrun flag and late pipelines (catalog.lateness) share it.

USUAL_DURATION_SAMPLE = 20  # the pipeline's last 20 successful runs
USUAL_DURATION_MINIMUM = 3  # fewer successful runs than this: no usual duration, never flagged


# PostgreSQL: per pipeline, its last successful runs through a LATERAL index walk on run_pipeline_status_history
# ((pipeline, status, -created_at, -id)), and their median in the same statement: the cost follows the pipelines
# asked for, never the history's size, and one row per pipeline comes back (a pass over thousands of running
# pipelines would otherwise build 20 Run objects each).
_USUAL_DURATIONS_SQL = """
SELECT p.id, count(*), percentile_cont(0.5) WITHIN GROUP (
    ORDER BY GREATEST(EXTRACT(EPOCH FROM r.finished_at - r.started_at), 0)
)
FROM unnest(%s::bigint[]) AS p(id)
CROSS JOIN LATERAL (
    SELECT started_at, finished_at FROM catalog_run
    WHERE pipeline_id = p.id AND status = 'success' AND started_at IS NOT NULL AND finished_at IS NOT NULL
    ORDER BY created_at DESC, id DESC
    LIMIT %s
) AS r
GROUP BY p.id
"""


def usual_durations(pipeline_ids) -> dict[int, timedelta]:
    """Pipeline id -> the median duration of its last USUAL_DURATION_SAMPLE successful runs (those with
    both times), for pipelines with at least USUAL_DURATION_MINIMUM of them.

    One query whatever the number of pipelines, each pipeline's last 20 read by an index range scan on
    run_pipeline_status_history, so the whole history is never read.
    """
    pipeline_ids = sorted(set(pipeline_ids))
    if not pipeline_ids:
        return {}
    database = connections[router.db_for_read(Run)]
    if database.vendor == "postgresql":
        # The statement names its pipelines (already scoped by the callers: their own runs, or the beat's pass
        # over every organization) and reads only their runs.
        with database.cursor() as cursor:
            cursor.execute(_USUAL_DURATIONS_SQL, [pipeline_ids, USUAL_DURATION_SAMPLE])
            medians = {pipeline_id: (count, seconds) for pipeline_id, count, seconds in cursor.fetchall()}
        return {
            pipeline_id: timedelta(seconds=seconds)
            for pipeline_id, (count, seconds) in medians.items()
            if count >= USUAL_DURATION_MINIMUM and seconds > 0
        }
    return _usual_durations_in_python(pipeline_ids)


def _usual_durations_in_python(pipeline_ids: list[int]) -> dict[int, timedelta]:
    """Elsewhere (SQLite, the embedded mode's small databases): a pk IN (latest 20 of p) per pipeline."""
    # Pipelines are already scoped by the callers: each pipeline's own runs are the only ones read.
    successful = Run.objects.unscoped().filter(
        status=RunStatus.SUCCESS, started_at__isnull=False, finished_at__isnull=False
    )
    latest = Q()
    for pipeline_id in pipeline_ids:
        ids = successful.filter(pipeline_id=pipeline_id).order_by("-created_at", "-id").values("pk")
        latest |= Q(pk__in=ids[:USUAL_DURATION_SAMPLE])
    durations: dict[int, list[timedelta]] = {}
    for pipeline_id, started, finished in successful.filter(latest).values_list(
        "pipeline_id", "started_at", "finished_at"
    ):
        durations.setdefault(pipeline_id, []).append(max(finished - started, timedelta(0)))
    return {
        pipeline_id: statistics.median(values)
        for pipeline_id, values in durations.items()
        if len(values) >= USUAL_DURATION_MINIMUM and statistics.median(values) > timedelta(0)
    }
