"""Pipeline registration: a version, its datasets, lineage edges and check definitions, in one transaction.

- Same name and version, same canonical content: nothing is written (200).
- Same name and version, other content: `catalog.services.VersionConflict` (409).
- A new version: stored, becomes the current version (201). The pipeline's lineage edges are
  replaced by the new version's, so edges always describe what the pipeline does now; check
  definitions are kept per version.

Each app writes its own rows: catalog.services the pipeline and version, lineage.services the
datasets and edges, checks.services the check definitions.

Parallel registrations are decided by the unique constraints on (organization, name) and
(pipeline, version): the loser's transaction rolls back and the registration is retried once,
which then sees the winner's row and answers 200 or 409 like any later request.
"""

from django.db import IntegrityError, transaction

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.services import VersionOutcome
from checks import services as checks_services
from lineage import naming
from lineage import services as lineage_services
from orgs.errors import Conflict
from orgs.models import Organization
from workflows.pipeline_spec import PipelineSpec


def register_pipeline(*, organization: Organization, spec: PipelineSpec) -> VersionOutcome:
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


def _register(organization: Organization, spec: PipelineSpec) -> VersionOutcome:
    outcome = catalog_services.record_pipeline_version(
        organization=organization,
        name=spec.name,
        version=spec.version,
        spec=spec.spec,
        spec_hash=spec.spec_hash,
        owner=spec.owner,
        description=spec.description,
        schedule=spec.schedule,
        schedule_timezone=spec.timezone,
        paused=spec.paused,
        late_grace_minutes=spec.late_grace_minutes,
        tags=spec.tags,
    )
    if not outcome.created:
        return outcome
    physical = _physical_names(organization, spec.datasets)
    declared = lineage_services.upsert_datasets(
        organization,
        {
            (lineage_services.DECLARED_NAMESPACE, dataset_id): location
            | {"physical_name": physical.get(dataset_id, "")}
            for dataset_id, location in spec.datasets.items()
        },
    )
    datasets = {dataset_id: dataset for (_namespace, dataset_id), dataset in declared.items()}
    lineage_services.replace_declared_edges(
        organization,
        outcome.pipeline,
        outcome.version,
        [(datasets[source_id], datasets[target_id]) for source_id, target_id in spec.edges],
    )
    checks_services.create_check_definitions(
        organization=organization,
        pipeline=outcome.pipeline,
        version=outcome.version,
        checks=spec.checks,
        datasets=datasets,
    )
    return outcome


def _physical_names(organization: Organization, datasets: dict) -> dict[str, str]:
    """dataset id -> its physical name in OpenLineage's naming, from the organization's own connection of
    that id (never another organization's: the lookup is scoped) and the table; what an OpenLineage event
    naming the same table is matched by (lineage/naming.py)."""
    wanted = {location.get("connection_id") for location in datasets.values() if location.get("table")}
    wanted.discard("")
    if not wanted:
        return {}
    connections = catalog_selectors.connections_by_id(organization, wanted)
    names = {}
    for dataset_id, location in datasets.items():
        connection = connections.get(location.get("connection_id"))
        if connection is not None:
            name = naming.connection_physical_name(connection.type, connection.config, location.get("table", ""))
            if name:
                names[dataset_id] = name
    return names
