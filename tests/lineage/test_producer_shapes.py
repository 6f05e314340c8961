"""POST /api/v1/lineage accepts what real producers send: Airflow's provider, Spark, dbt, the
openlineage-python client; static lineage (JobEvent, DatasetEvent); times with nanoseconds or without
a zone; unicode names; large events; and events without schemaURL (a multi-job story must connect)."""

import copy
import gzip
import json
import uuid

import pytest
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.serde import Serde
from rest_framework.test import APIClient

from catalog.models import Pipeline
from catalog.models import Run as RunRow
from lineage.models import Dataset, LineageEdge, OpenLineageEvent
from orgs.models import Role, UsageCounter

AIRFLOW_PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
SPARK_PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark"
DBT_PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org_a, Role.WRITE)}")
    return api


def post(client, body, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/api/v1/lineage", data=data, content_type="application/json", **headers)


def airflow_task_event(event_type, dag_run_id, task_run_id, when, task="load_orders"):
    """What apache-airflow-providers-openlineage sends for a task instance (SQL operator on postgres)."""
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": AIRFLOW_PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {
            "runId": task_run_id,
            "facets": {
                "parent": {
                    "_producer": AIRFLOW_PRODUCER,
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet",
                    "run": {"runId": dag_run_id},
                    "job": {"namespace": "default", "name": "orders_dag"},
                },
                "airflow": {"_producer": AIRFLOW_PRODUCER, "dag": {"dag_id": "orders_dag"}, "task": {"task_id": task}},
                "processing_engine": {"version": "2.10.3", "name": "Airflow", "openlineageAdapterVersion": "1.14.0"},
            },
        },
        "job": {
            "namespace": "default",
            "name": f"orders_dag.{task}",
            "facets": {"jobType": {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"}},
        },
        "inputs": [{"namespace": "postgres://warehouse.internal:5432", "name": "shop.public.orders"}],
        "outputs": [{"namespace": "postgres://warehouse.internal:5432", "name": "shop.analytics.orders_daily"}],
    }


def spark_event(event_type, run_id, when):
    """The Spark integration: an s3 path with a hive symlink, a schema, column lineage, a logical plan."""
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": SPARK_PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {
            "runId": run_id,
            "facets": {
                "spark_version": {"_producer": SPARK_PRODUCER, "spark-version": "3.5.1"},
                "spark.logicalPlan": {"_producer": SPARK_PRODUCER, "plan": [{"class": "InsertIntoHadoopFsRelation"}]},
            },
        },
        "job": {"namespace": "spark_namespace", "name": "orders_enrich.execute_insert_into_hadoop_fs_relation_command"},
        "inputs": [
            {
                "namespace": "s3://datalake",
                "name": "/raw/orders",
                "facets": {
                    "dataSource": {"name": "s3://datalake", "uri": "s3://datalake"},
                    "schema": {"fields": [{"name": "id", "type": "long"}, {"name": "amount", "type": "decimal(10,2)"}]},
                },
            }
        ],
        "outputs": [
            {
                "namespace": "s3://datalake",
                "name": "/curated/orders_enriched",
                "facets": {
                    "symlinks": {
                        "identifiers": [
                            {"namespace": "hive://metastore", "name": "curated.orders_enriched", "type": "TABLE"}
                        ]
                    },
                    "columnLineage": {
                        "fields": {
                            "amount_eur": {
                                "inputFields": [
                                    {
                                        "namespace": "s3://datalake",
                                        "name": "/raw/orders",
                                        "field": "amount",
                                        "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}],
                                    }
                                ]
                            }
                        }
                    },
                },
                "outputFacets": {"outputStatistics": {"rowCount": 1200, "size": 34567}},
            }
        ],
    }


def dbt_event(event_type, run_id, when, parent_run_id):
    """dbt-ol: a model job under the dbt invocation's parent run, with test results as assertions."""
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": DBT_PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {
            "runId": run_id,
            "facets": {
                "parent": {"run": {"runId": parent_run_id}, "job": {"namespace": "dbt", "name": "dbt-run-jaffle_shop"}},
                "dbt_version": {"version": "1.8.2"},
            },
        },
        "job": {"namespace": "dbt", "name": "jaffle_shop.model.jaffle_shop.customers"},
        "inputs": [
            {
                "namespace": "postgres://localhost:5432",
                "name": "jaffle.public.stg_orders",
                "inputFacets": {
                    "dataQualityAssertions": {
                        "assertions": [{"assertion": "not_null", "success": True, "column": "order_id"}]
                    }
                },
            }
        ],
        "outputs": [{"namespace": "postgres://localhost:5432", "name": "jaffle.public.customers"}],
    }


def test_airflow_provider_task_events_are_accepted(client, org_a):
    dag_run, task_run = str(uuid.uuid4()), str(uuid.uuid4())
    start = post(client, airflow_task_event("START", dag_run, task_run, "2026-11-26T06:00:00.123456+00:00"))
    done = post(client, airflow_task_event("COMPLETE", dag_run, task_run, "2026-11-26T06:02:00.5+00:00"))

    assert (start.status_code, done.status_code) == (201, 201), done.content
    assert done.json()["run_status"] == "success"
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 1


def test_spark_events_with_symlinks_schema_and_plan_are_accepted_and_kept(client, org_a):
    run_id = str(uuid.uuid4())
    assert post(client, spark_event("START", run_id, "2026-11-26T06:00:00.000Z")).status_code == 201
    response = post(client, spark_event("COMPLETE", run_id, "2026-11-26T06:05:00.000Z"))

    assert response.status_code == 201, response.content
    stored = OpenLineageEvent.objects.unscoped().get(organization=org_a, event_type="COMPLETE")
    assert stored.payload["run"]["facets"]["spark.logicalPlan"]["plan"][0]["class"] == "InsertIntoHadoopFsRelation"
    assert stored.payload["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 1200


def test_dbt_model_events_are_accepted_with_their_test_results(client, org_a):
    run_id, parent = str(uuid.uuid4()), str(uuid.uuid4())
    assert post(client, dbt_event("START", run_id, "2026-11-26T06:00:00.000000+00:00", parent)).status_code == 201
    response = post(client, dbt_event("COMPLETE", run_id, "2026-11-26T06:00:09.000000+00:00", parent))

    assert response.status_code == 201, response.content
    assert response.json()["check_results"] == 1


def test_openlineage_python_serialized_events_are_accepted(client, org_a):
    run_id = str(uuid.uuid4())
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="int")])
    for state, when in (
        (RunState.START, "2026-11-26T06:00:00+00:00"),
        (RunState.COMPLETE, "2026-11-26T06:01:00+00:00"),
    ):
        event = RunEvent(
            eventType=state,
            eventTime=when,
            run=Run(runId=run_id),
            job=Job(namespace="python", name="nightly_export"),
            producer="https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
            inputs=[InputDataset(namespace="bigquery", name="proj.raw.users", facets={"schema": schema})],
            outputs=[OutputDataset(namespace="gs://exports", name="users/2026-11-26.csv")],
        )
        assert post(client, json.loads(Serde.to_json(event))).status_code == 201

    assert RunRow.objects.get(organization=org_a, run_id=run_id).status == "success"


def test_a_multi_job_story_without_schema_url_connects_end_to_end(client, org_a):
    """Three jobs chained through their datasets, none of their events carrying schemaURL."""
    chain = [
        ("ingest_orders", "pg://src", "public.orders", "wh", "raw.orders"),
        ("clean_orders", "wh", "raw.orders", "wh", "staging.orders"),
        ("orders_report", "wh", "staging.orders", "wh", "mart.orders_report"),
    ]
    for hour, (job, in_ns, in_name, out_ns, out_name) in enumerate(chain):
        run_id = str(uuid.uuid4())
        for event_type, minute in (("START", 0), ("COMPLETE", 5)):
            body = {
                "eventType": event_type,
                "eventTime": f"2026-11-26T0{hour}:0{minute}:00Z",
                "producer": "https://example.com/story",
                "run": {"runId": run_id},
                "job": {"namespace": "story", "name": job},
                "inputs": [{"namespace": in_ns, "name": in_name}],
                "outputs": [{"namespace": out_ns, "name": out_name}],
            }
            assert post(client, body).status_code == 201

    graph = client.get("/api/v1/lineage/mart.orders_report?direction=upstream&depth=5").json()

    names = {node["dataset_id"] for node in graph["nodes"]}
    assert names == {"public.orders", "raw.orders", "staging.orders", "mart.orders_report"}
    pipelines = {pipeline for edge in graph["edges"] for pipeline in edge["pipelines"]}
    assert pipelines == {"ingest_orders", "clean_orders", "orders_report"}


def test_static_job_event_updates_edges_without_a_run(client, org_a):
    event = JobEvent(
        eventTime="2026-11-26T06:00:00Z",
        job=Job(namespace="static", name="reporting_view"),
        producer="https://example.com/catalog-sync",
        inputs=[InputDataset(namespace="wh", name="mart.orders")],
        outputs=[OutputDataset(namespace="wh", name="mart.orders_view")],
    )
    body = json.loads(Serde.to_json(event))

    response = post(client, body)
    again = post(client, body)

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "job" and response.json()["run_id"] is None
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    edge = LineageEdge.objects.unscoped().get(organization=org_a)
    assert (edge.source.dataset_id, edge.target.dataset_id, edge.pipeline.name) == (
        "mart.orders",
        "mart.orders_view",
        "reporting_view",
    )
    assert not RunRow.objects.filter(organization=org_a).exists()
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month").value == 1


def test_static_dataset_event_records_the_dataset(client, org_a):
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="int")])
    event = DatasetEvent(
        eventTime="2026-11-26T06:00:00Z",
        producer="https://example.com/catalog-sync",
        dataset=StaticDataset(namespace="wh", name="mart.customers", facets={"schema": schema}),
    )

    response = post(client, json.loads(Serde.to_json(event)))

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "dataset"
    assert Dataset.objects.unscoped().filter(organization=org_a, namespace="wh", dataset_id="mart.customers").exists()
    assert not Pipeline.objects.unscoped().filter(organization=org_a).exists()


def test_a_dataset_event_without_a_dataset_name_is_a_field_message(client, org_a):
    body = {"eventTime": "2026-11-26T06:00:00Z", "producer": "p", "dataset": {"namespace": "wh"}}

    response = post(client, body)

    assert response.status_code == 400
    assert "name" in response.json()["dataset"][0]
    assert not OpenLineageEvent.objects.unscoped().exists()


TIMES = {
    "nanoseconds": ("2026-11-26T06:00:00.123456789Z", "2026-11-26T06:00:00.123456+00:00"),
    "no time zone": ("2026-11-26T06:00:00", "2026-11-26T06:00:00+00:00"),
    "no zone, nanoseconds": ("2026-11-26T06:00:00.000000001", "2026-11-26T06:00:00+00:00"),
    "offset": ("2026-11-26T07:00:00.5+01:00", "2026-11-26T06:00:00.500000+00:00"),
    "twelve fraction digits": ("2026-11-26T06:00:00.123456789012Z", "2026-11-26T06:00:00.123456+00:00"),
}


@pytest.mark.parametrize("sent, stored", TIMES.values(), ids=TIMES.keys())
def test_event_times_with_nanoseconds_or_without_a_zone_are_read_as_utc(client, org_a, sent, stored):
    run_id = str(uuid.uuid4())
    body = {
        "eventType": "START",
        "eventTime": sent,
        "producer": "p",
        "run": {"runId": run_id},
        "job": {"namespace": "n", "name": "j"},
    }

    response = post(client, body)

    assert response.status_code == 201, response.content
    assert OpenLineageEvent.objects.unscoped().get(organization=org_a, run_id=run_id).event_time.isoformat() == stored
    assert RunRow.objects.get(organization=org_a, run_id=run_id).started_at.isoformat() == stored


def test_unicode_names_are_kept(client, org_a):
    body = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-26T06:00:00Z",
        "producer": "p",
        "run": {"runId": "läuf-✓-1"},
        "job": {"namespace": "日本", "name": "売上_集計.täglich"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "verkäufe.öffentlich.bestellungen"}],
        "outputs": [{"namespace": "postgres://db:5432", "name": "売上.公開.日次🚀"}],
    }

    response = post(client, body)

    assert response.status_code == 201, response.content
    assert Pipeline.objects.unscoped().filter(organization=org_a, name="売上_集計.täglich").exists()
    assert client.get("/api/v1/lineage/売上.公開.日次🚀?direction=upstream").status_code == 200


def test_a_large_event_up_to_the_size_limit_is_accepted(client, org_a, settings):
    """A wide table's schema facet (20,000 columns, about 1.5 MB of JSON) sent gzip-compressed."""
    body = spark_event("COMPLETE", str(uuid.uuid4()), "2026-11-26T06:00:00Z")
    fields = [{"name": f"column_{i:05d}", "type": "string", "description": "é" * 20} for i in range(20_000)]
    body["inputs"][0]["facets"]["schema"]["fields"] = fields
    raw = json.dumps(body).encode()
    assert len(raw) > settings.DATAXPIPE_MAX_BODY_BYTES

    response = post(client, gzip.compress(raw), HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 201, response.content[:300]
    stored = OpenLineageEvent.objects.unscoped().get(organization=org_a)
    assert len(stored.payload["inputs"][0]["facets"]["schema"]["fields"]) == 20_000


def test_unknown_facets_and_keys_are_kept_verbatim(client, org_a):
    body = airflow_task_event("START", str(uuid.uuid4()), str(uuid.uuid4()), "2026-11-26T06:00:00Z")
    body["run"]["facets"]["acme_cost"] = {"_producer": "acme", "cents": 12, "nested": {"a": [1, None, "x"]}}
    body["futureTopLevelKey"] = {"v": 3}
    expected = copy.deepcopy(body)

    assert post(client, body).status_code == 201

    assert OpenLineageEvent.objects.unscoped().get(organization=org_a).payload == expected


def test_airflow_task_runs_belong_to_the_dag_pipeline_and_run(client, org_a):
    """Task events (job `dag.task`, a `parent` facet naming the DAG run) arrive before and after the DAG's own."""
    dag_run, extract, load = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    failed = airflow_task_event("FAIL", dag_run, load, "2026-11-26T06:04:00Z", task="load_orders")
    failed["run"]["facets"]["errorMessage"] = {
        "message": "relation mart.orders does not exist",
        "programmingLanguage": "python",
    }
    dag_start = {
        "eventType": "START",
        "eventTime": "2026-11-26T06:00:00Z",
        "producer": AIRFLOW_PRODUCER,
        "run": {"runId": dag_run},
        "job": {"namespace": "default", "name": "orders_dag"},
    }
    for body in (
        airflow_task_event("START", dag_run, extract, "2026-11-26T06:00:05Z", task="extract"),
        dag_start,
        airflow_task_event("COMPLETE", dag_run, extract, "2026-11-26T06:02:00Z", task="extract"),
        airflow_task_event("START", dag_run, load, "2026-11-26T06:02:05Z", task="load_orders"),
        failed,
    ):
        assert post(client, body).status_code == 201

    assert set(Pipeline.objects.unscoped().filter(organization=org_a).values_list("name", flat=True)) == {"orders_dag"}
    detail = client.get(f"/api/v1/runs/{dag_run}").json()
    assert detail["pipeline_id"] == "orders_dag" and detail["status"] == "running"
    tasks = [(t["task"], t["status"], t["error"]) for t in detail["task_runs"]]
    assert tasks == [
        ("orders_dag.extract", "success", None),
        ("orders_dag.load_orders", "failed", "relation mart.orders does not exist"),
    ]
    assert detail["task_runs"][0]["started_at"] == "2026-11-26T06:00:05Z"
    edge = LineageEdge.objects.unscoped().get(organization=org_a)
    assert edge.pipeline.name == "orders_dag"
