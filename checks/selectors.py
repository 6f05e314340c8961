"""Reads for checks: resolving ids from request bodies inside an organization, result lists, and the
checks on a set of datasets (the lineage graph's impact)."""

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet

from catalog.models import Connection, Pipeline, Run
from checks.models import CheckDefinition, CheckExecution, CheckResult
from lineage.models import Dataset
from lineage.selectors import in_pks
from orgs.models import Organization


def result_list(organization: Organization) -> QuerySet[CheckResult]:
    """Results of an organization with everything their representation needs, newest first."""
    return (
        CheckResult.objects.for_organization(organization)
        .select_related("pipeline", "run", "dataset")
        .order_by("-executed_at", "-id")
    )


def results_newest_first(organization) -> QuerySet[CheckResult]:
    """Results in the order a run's detail lists them; prefetched onto runs of `organization`."""
    return CheckResult.objects.for_organization(organization).order_by("-executed_at", "-id")


def find_pipeline(organization: Organization, name: str | None, field: str = "pipeline") -> Pipeline | None:
    if not name:
        return None
    pipeline = Pipeline.objects.for_organization(organization).filter(name=name).first()
    if pipeline is None:
        raise ValidationError({field: [f"No pipeline named {name!r} in this organization."]})
    return pipeline


def find_run(organization: Organization, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    run = Run.objects.for_organization(organization).filter(run_id=run_id).select_related("pipeline").first()
    if run is None:
        raise ValidationError({"run_id": [f"No run {run_id!r} in this organization."]})
    return run


def find_dataset(organization: Organization, dataset_id: str | None) -> Dataset | None:
    if not dataset_id:
        return None
    candidates = list(Dataset.objects.for_organization(organization).filter(dataset_id=dataset_id)[:2])
    declared = [dataset for dataset in candidates if dataset.namespace == ""]
    if declared:
        return declared[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValidationError({"dataset": [f"No dataset {dataset_id!r} in this organization."]})
    raise ValidationError({"dataset": [f"Several datasets are named {dataset_id!r}; register it in a pipeline."]})


def find_connection(organization: Organization, connection_id: str | None) -> Connection:
    if not connection_id:
        raise ValidationError({"connection_id": ["This field is required (or defined by the check)."]})
    connection = Connection.objects.for_organization(organization).filter(connection_id=connection_id).first()
    if connection is None:
        raise ValidationError({"connection_id": [f"No connection {connection_id!r} in this organization."]})
    return connection


def find_check_definition(
    organization: Organization, check_id: str, pipeline: Pipeline | None = None
) -> CheckDefinition | None:
    """The definition of `check_id` in the current version of the pipeline that defines it.

    None when no registered pipeline defines it (an ad-hoc check). When several pipelines
    define the same id, the caller must say which (pipeline, or a run of that pipeline).
    """
    definitions = CheckDefinition.objects.for_organization(organization).filter(
        check_id=check_id, pipeline_version=F("pipeline__current_version")
    )
    if pipeline is not None:
        definitions = definitions.filter(pipeline=pipeline)
    found = list(definitions.select_related("pipeline", "dataset").order_by("-pipeline_version_id", "-id")[:2])
    if not found:
        return None
    if len(found) > 1 and found[0].pipeline_id != found[1].pipeline_id:
        raise ValidationError(
            {"check_id": [f"Several pipelines define {check_id!r}; say which with pipeline (or run_id)."]}
        )
    return found[0]


def checks_on(organization_id: int, dataset_pks) -> list[dict]:
    """Check definitions that are live on these datasets: ad hoc, or from their pipeline's current version."""
    live = (
        Q(pipeline__isnull=True)
        | Q(pipeline_version__isnull=True)
        | Q(pipeline_version_id=F("pipeline__current_version_id"))
    )
    return list(
        CheckDefinition.objects.for_organization(organization_id)
        .filter(**in_pks("dataset_id", dataset_pks))
        .filter(live)
        .order_by("check_id", "id")
        .values("check_id", "dataset_id", "type", "severity", "pipeline__name")
    )


def with_result_names(executions):
    """Executions with what their representation needs (their result's names), in the same query."""
    return executions.select_related("result__pipeline", "result__run", "result__dataset")


def execution_detail(organization: Organization, execution_id: str) -> CheckExecution | None:
    """One of the organization's executions with what its representation needs (its result's names)."""
    return with_result_names(
        CheckExecution.objects.for_organization(organization).filter(execution_id=execution_id)
    ).first()
