"""Small ORM factories: the rows the catalog writes at pipeline registration, made directly; and
OpenLineage events as producers send them."""

import hashlib
import json
import uuid

from catalog.models import Pipeline, PipelineVersion
from checks.models import CheckDefinition
from lineage.models import Dataset, LineageEdge


def make_pipeline(organization, name, version="1", spec=None):
    pipeline = Pipeline.objects.unscoped().filter(organization=organization, name=name).first()
    if pipeline is None:
        pipeline = Pipeline.objects.create(organization=organization, name=name)
    spec = spec or {"name": name, "version": version}
    pipeline_version = PipelineVersion.objects.create(
        organization=organization,
        pipeline=pipeline,
        version=version,
        spec=spec,
        spec_hash=hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
    )
    pipeline.current_version = pipeline_version
    pipeline.save(update_fields=["current_version"])
    return pipeline


def make_dataset(organization, dataset_id, namespace="", **extra):
    dataset, _ = Dataset.objects.unscoped().get_or_create(
        organization=organization, dataset_id=dataset_id, namespace=namespace, defaults=extra
    )
    return dataset


def make_edge(organization, source, target, pipeline):
    return LineageEdge.objects.create(
        organization=organization,
        source=source,
        target=target,
        pipeline=pipeline,
        pipeline_version=pipeline.current_version,
    )


def make_check(organization, check_id, dataset, pipeline=None, severity="error", check_type="custom"):
    return CheckDefinition.objects.create(
        organization=organization,
        check_id=check_id,
        dataset=dataset,
        pipeline=pipeline,
        pipeline_version=pipeline.current_version if pipeline else None,
        severity=severity,
        type=check_type,
    )


def register_pipeline_json(organization, spec):
    """What the catalog records for a pipeline.json: datasets, transform edges and check definitions."""
    pipeline = make_pipeline(organization, spec["name"], spec.get("version", "1"), spec)
    located = {t["id"]: t for t in spec.get("targets", []) + spec.get("sources", [])}
    datasets = {}
    for item in spec.get("sources", []) + spec.get("transforms", []) + spec.get("targets", []):
        where = located.get(item["id"], {})
        datasets[item["id"]] = make_dataset(
            organization, item["id"], connection_id=where.get("connection_id", ""), table=where.get("table", "")
        )
    for transform in spec.get("transforms", []):
        for input_id in transform["inputs"]:
            make_edge(organization, datasets[input_id], datasets[transform["id"]], pipeline)
    for check in spec.get("checks", []):
        make_check(
            organization,
            check["id"],
            datasets[check["dataset"]],
            pipeline,
            check.get("severity", "error"),
            check.get("type", ""),
        )
    return pipeline


def openlineage_event(
    event_type="START",
    *,
    run_id=None,
    when="2026-11-26T06:00:00Z",
    job=("tests", "job"),
    inputs=(),
    outputs=(),
    namespace="wh",
    producer="https://example.com/tests",
) -> dict:
    """A RunEvent of a new run (unless `run_id`) of `job` (namespace, name), reading and writing the named
    datasets of `namespace`."""
    body = {
        "eventType": event_type,
        "eventTime": when,
        "producer": producer,
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": job[0], "name": job[1]},
    }
    if inputs or outputs:
        body["inputs"] = [{"namespace": namespace, "name": name} for name in inputs]
        body["outputs"] = [{"namespace": namespace, "name": name} for name in outputs]
    return body
