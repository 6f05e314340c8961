"""Pipeline registration: a version, its datasets, lineage edges and check definitions, in one transaction.

- Same name and version, same canonical content: nothing is written (200).
- Same name and version, other content: `VersionConflict` (409).
- A new version: stored, becomes the current version (201). The pipeline's lineage edges are
  replaced by the new version's, so edges always describe what the pipeline does now; check
  definitions are kept per version.

Parallel registrations are decided by the unique constraints on (organization, name) and
(pipeline, version): the loser's transaction rolls back and the registration is retried once,
which then sees the winner's row and answers 200 or 409 like any later request.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from catalog.models import Pipeline, PipelineVersion
from catalog.pipeline_spec import PipelineSpec
from checks.models import CheckDefinition
from lineage.models import Dataset, LineageEdge
from orgs.errors import Conflict
from orgs.limits import enforce_limit
from orgs.models import Organization

DATASET_NAMESPACE = ""  # datasets declared by pipeline.json; OpenLineage ones carry their namespace


class VersionConflict(Conflict):
    code = "version_conflict"


@dataclass(frozen=True)
class RegistrationOutcome:
    pipeline: Pipeline
    version: PipelineVersion
    created: bool


def register_pipeline(*, organization: Organization, spec: PipelineSpec) -> RegistrationOutcome:
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _register(organization, spec)
        except IntegrityError:
            if attempt:
                # Parallel registrations of this name kept winning the unique constraints: a race, not a bug.
                raise Conflict(
                    f"Pipeline {spec.name!r} was registered by another request at the same time; retry."
                ) from None
    raise AssertionError("unreachable")


def _register(organization: Organization, spec: PipelineSpec) -> RegistrationOutcome:
    pipeline = Pipeline.objects.for_organization(organization).select_for_update().filter(name=spec.name).first()
    if pipeline is not None:
        existing = pipeline.versions.filter(version=spec.version).first()
        if existing is not None:
            if existing.spec_hash != spec.spec_hash:
                raise VersionConflict(
                    f"Pipeline {spec.name!r} version {spec.version!r} is already registered with "
                    "different content. Registered versions never change: bump the version.",
                    registered_spec_hash=existing.spec_hash,
                    posted_spec_hash=spec.spec_hash,
                )
            return RegistrationOutcome(pipeline=pipeline, version=existing, created=False)
        if pipeline.is_external:
            # A pipeline first seen through OpenLineage is now registered: it starts counting.
            enforce_limit(organization, "pipelines")
            pipeline.is_external = False
    else:
        enforce_limit(organization, "pipelines")
        pipeline = Pipeline.objects.create(organization=organization, name=spec.name)

    version = PipelineVersion.objects.create(
        organization=organization,
        pipeline=pipeline,
        version=spec.version,
        spec=spec.spec,
        spec_hash=spec.spec_hash,
    )
    pipeline.current_version = version
    pipeline.owner = spec.owner
    pipeline.description = spec.description
    pipeline.schedule = spec.schedule
    pipeline.tags = spec.tags
    pipeline.save()
    datasets = _upsert_datasets(organization, spec)
    _replace_edges(organization, pipeline, version, spec, datasets)
    _create_check_definitions(organization, pipeline, version, spec, datasets)
    return RegistrationOutcome(pipeline=pipeline, version=version, created=True)


def _upsert_datasets(organization: Organization, spec: PipelineSpec) -> dict[str, Dataset]:
    """One Dataset per declared id; datasets are shared by the pipelines that name them."""
    existing = {
        dataset.dataset_id: dataset
        for dataset in Dataset.objects.for_organization(organization).filter(
            namespace=DATASET_NAMESPACE, dataset_id__in=list(spec.datasets)
        )
    }
    # Sorted, so that parallel registrations sharing datasets insert and lock them in the same order
    # (one waits for the other instead of deadlocking).
    missing = [
        Dataset(organization=organization, dataset_id=dataset_id, namespace=DATASET_NAMESPACE, **location)
        for dataset_id, location in sorted(spec.datasets.items())
        if dataset_id not in existing
    ]
    # A parallel registration of another pipeline may create the same dataset: ignore_conflicts keeps both
    # transactions going, and the re-read below picks up whichever row won.
    Dataset.objects.bulk_create(missing, ignore_conflicts=True)
    to_update = []
    for dataset_id, dataset in existing.items():
        location = {key: value for key, value in spec.datasets[dataset_id].items() if value}
        if any(getattr(dataset, key) != value for key, value in location.items()):
            for key, value in location.items():
                setattr(dataset, key, value)
            to_update.append(dataset)
    if to_update:
        owned = Dataset.objects.for_organization(organization)
        list(owned.select_for_update().filter(pk__in=[d.pk for d in to_update]).order_by("pk"))
        owned.bulk_update(sorted(to_update, key=lambda dataset: dataset.pk), ["connection_id", "table"])
    return {
        dataset.dataset_id: dataset
        for dataset in Dataset.objects.for_organization(organization).filter(
            namespace=DATASET_NAMESPACE, dataset_id__in=list(spec.datasets)
        )
    }


def _replace_edges(organization, pipeline, version, spec: PipelineSpec, datasets):
    # Registration owns the edges between pipeline.json datasets (namespace ""); edges that OpenLineage
    # events tied to this pipeline between namespaced datasets are the lineage app's to keep.
    pipeline.lineage_edges.filter(source__namespace=DATASET_NAMESPACE, target__namespace=DATASET_NAMESPACE).delete()
    LineageEdge.objects.bulk_create(
        [
            LineageEdge(
                organization=organization,
                source=datasets[source_id],
                target=datasets[target_id],
                pipeline=pipeline,
                pipeline_version=version,
            )
            for source_id, target_id in spec.edges
        ]
    )


def _create_check_definitions(organization, pipeline, version, spec: PipelineSpec, datasets):
    CheckDefinition.objects.bulk_create(
        [
            CheckDefinition(
                organization=organization,
                check_id=check["check_id"],
                pipeline=pipeline,
                pipeline_version=version,
                dataset=datasets[check["dataset_id"]],
                connection_id=check["connection_id"],
                type=check["type"],
                severity=check["severity"],
                sql=check["sql"],
                threshold=check["threshold"],
            )
            for check in spec.checks
        ]
    )
