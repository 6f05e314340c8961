"""Rows in every tenant table the console shows, for one organization, built through the services.

Names carry the organization's slug so a page that leaks another organization's rows is caught by
a plain substring check.
"""

import copy
from datetime import timedelta

from django.utils import timezone

from catalog import services
from catalog.models import Connection, Pipeline, Run, RunStatus
from checks.models import CheckResult
from lineage.models import Dataset, OpenLineageEvent
from workflows import pipeline_spec
from workflows.demo.catalog import REVENUE_REPORT
from workflows.registration import register_pipeline


def spec_for(slug: str, version: str = "1", schedule: str = "0 7 * * *") -> dict:
    spec = copy.deepcopy(REVENUE_REPORT)
    spec.update(name=f"{slug}_report", version=version, schedule=schedule)
    spec["sources"][0]["id"] = f"{slug}_orders"
    spec["transforms"][0].update(id=f"{slug}_revenue", inputs=[f"{slug}_orders"])
    spec["targets"][0]["id"] = f"{slug}_revenue"
    spec["checks"][0]["dataset"] = f"{slug}_revenue"
    return spec


def build(organization, runs: int = 3, results_per_run: int = 2, versions: int = 2) -> dict:
    slug = organization.slug.replace("-", "_")
    for number in range(1, versions + 1):
        register_pipeline(
            organization=organization,
            spec=pipeline_spec.parse(spec_for(slug, version=str(number), schedule=f"{number} 7 * * *")),
        )
    pipeline = Pipeline.objects.unscoped().get(organization=organization, name=f"{slug}_report")
    start = timezone.now() - timedelta(hours=2)
    for index in range(runs):
        run_id = f"{slug}-run-{index:04d}"
        final = RunStatus.FAILED if index % 3 == 0 else RunStatus.SUCCESS
        services.apply_run_event(
            organization=organization, pipeline=pipeline, status=RunStatus.RUNNING, run_id=run_id, started_at=start
        )
        services.apply_run_event(
            organization=organization,
            pipeline=pipeline,
            status=final,
            run_id=run_id,
            finished_at=start + timedelta(minutes=5),
        )
    dataset = Dataset.objects.unscoped().get(organization=organization, dataset_id=f"{slug}_revenue")
    results = [
        CheckResult(
            organization=organization,
            result_id=f"{slug}-result-{run.pk}-{number}",
            check_id=f"{slug}_check_{number}",
            pipeline=pipeline,
            run=run,
            dataset=dataset,
            status="fail" if number == 0 else "pass",
            severity="error",
            violations=3 if number == 0 else 0,
            threshold=0,
            sql=f"SELECT COUNT(*) FROM {slug}_revenue",
            executed_at=timezone.now(),
        )
        for run in Run.objects.unscoped().filter(pipeline=pipeline)
        for number in range(results_per_run)
    ]
    CheckResult.objects.bulk_create(results)
    connection = Connection.objects.create(
        organization=organization, connection_id=f"{slug}-warehouse", type="sqlite", config={"path": "x.sqlite3"}
    )
    event = OpenLineageEvent.objects.create(
        organization=organization,
        run_id=f"{slug}-ol-run",
        event_type="COMPLETE",
        event_time=timezone.now(),
        job_namespace="airflow",
        job_name=f"{slug}_job",
        payload={},
    )
    return {
        "pipeline": pipeline,
        "run": Run.objects.unscoped().filter(pipeline=pipeline).first(),
        "result": CheckResult.objects.unscoped().filter(organization=organization).first(),
        "dataset": dataset,
        "edge": dataset.incoming_edges.first(),
        "connection": connection,
        "event": event,
        "slug": slug,
    }
