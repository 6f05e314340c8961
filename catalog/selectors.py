"""Reads of the catalog that are more than one line: each is one query (or a fixed few) per call."""

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from catalog.models import Pipeline, PipelineVersion, Run
from checks.models import CheckResult

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


def runs_with_check_results(queryset: QuerySet[Run], organization) -> QuerySet[Run]:
    results = CheckResult.objects.for_organization(organization).order_by("-executed_at", "-id")
    return (
        queryset.select_related("pipeline", "pipeline_version")
        .defer(*_RUN_DEFERRED)
        .prefetch_related(Prefetch("check_results", queryset=results, to_attr="prefetched_check_results"))
    )
