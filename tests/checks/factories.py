"""Catalog rows made directly with the ORM, so these tests do not depend on the catalog API."""

import hashlib
import json

from catalog.models import Connection, Pipeline, PipelineVersion, Run
from checks.models import CheckDefinition
from lineage.models import Dataset


def make_connection(organization, connection_id, type, config):
    return Connection.objects.create(organization=organization, connection_id=connection_id, type=type, config=config)


def make_dataset(organization, dataset_id, connection_id="", table=""):
    dataset, _ = Dataset.objects.unscoped().get_or_create(
        organization=organization,
        dataset_id=dataset_id,
        namespace="",
        defaults={"connection_id": connection_id, "table": table},
    )
    return dataset


def register_pipeline(organization, name, version="1", checks=()):
    """A pipeline whose given version becomes current, with its check definitions.

    `checks`: dicts with id, dataset, connection_id, severity, sql, threshold (as in pipeline.json).
    """
    spec = {"name": name, "version": version, "checks": list(checks)}
    pipeline, _ = Pipeline.objects.unscoped().get_or_create(organization=organization, name=name)
    pipeline_version = PipelineVersion.objects.create(
        organization=organization,
        pipeline=pipeline,
        version=version,
        spec=spec,
        spec_hash=hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
    )
    for check in checks:
        CheckDefinition.objects.create(
            organization=organization,
            check_id=check["id"],
            pipeline=pipeline,
            pipeline_version=pipeline_version,
            dataset=make_dataset(organization, check["dataset"]) if check.get("dataset") else None,
            connection_id=check.get("connection_id", ""),
            type=check.get("type", "custom"),
            severity=check.get("severity", "error"),
            sql=check.get("sql", ""),
            threshold=check.get("threshold", 0),
        )
    pipeline.current_version = pipeline_version
    pipeline.save(update_fields=["current_version"])
    return pipeline


def make_run(organization, pipeline, run_id, status="running"):
    return Run.objects.create(
        organization=organization,
        pipeline=pipeline,
        pipeline_version=pipeline.current_version,
        run_id=run_id,
        status=status,
    )
