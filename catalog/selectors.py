"""Reads of the catalog that are more than one line: each is one query (or a fixed few) per call."""

from django.db.models import OuterRef, QuerySet, Subquery

from catalog.models import Connection, Pipeline, PipelineVersion, Run

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
