"""The real openlineage-python client (HttpTransport, api_key auth) against a live test server."""

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from requests.exceptions import HTTPError

from catalog.models import Run as RunRow
from checks.models import CheckResult
from lineage.models import Dataset, LineageEdge, OpenLineageEvent
from orgs.models import Role, UsageCounter

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.0.0"
WAREHOUSE = "postgres://warehouse:5432"


def ol_client(live_server, key, gzip):
    config = HttpConfig(
        url=live_server.url,
        auth=ApiKeyTokenProvider({"apiKey": key}),
        compression=HttpCompression.GZIP if gzip else None,
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def run_event(state, run_id, when, job="orders_sync", inputs=(), outputs=()):
    return RunEvent(
        eventType=state,
        eventTime=when.isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace="airflow://prod", name=job),
        producer=PRODUCER,
        inputs=list(inputs),
        outputs=list(outputs),
    )


def datasets_with_failing_assertion():
    assertions = dqa.DataQualityAssertionsDatasetFacet(
        assertions=[
            dqa.Assertion(assertion="not_null", success=True, column="order_id"),
            dqa.Assertion(assertion="unique", success=False, column="order_id", severity="error"),
        ]
    )
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="order_id")])
    orders = InputDataset(
        namespace=WAREHOUSE,
        name="public.orders",
        facets={"schema": schema},
        inputFacets={"dataQualityAssertions": assertions},
    )
    customers = InputDataset(namespace=WAREHOUSE, name="public.customers")
    mart = OutputDataset(namespace="bigquery", name="marts.orders_daily")
    return [orders, customers], [mart]


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_start_then_complete_records_run_lineage_and_failed_assertion(live_server, org_a, make_key, make_client, gzip):
    client = ol_client(live_server, make_key(org_a, Role.WRITE), gzip)
    run_id = str(uuid.uuid4())
    started = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    inputs, outputs = datasets_with_failing_assertion()

    client.emit(run_event(RunState.START, run_id, started, inputs=inputs[:1]))
    assert RunRow.objects.unscoped().get(organization=org_a, run_id=run_id).status == "running"
    client.emit(run_event(RunState.COMPLETE, run_id, started + timedelta(minutes=7), inputs=inputs, outputs=outputs))

    run = RunRow.objects.unscoped().get(organization=org_a, run_id=run_id)
    assert run.status == "success"
    assert run.pipeline.name == "orders_sync" and run.pipeline.is_external
    assert (run.started_at, run.finished_at) == (started, started + timedelta(minutes=7))

    reader = make_client(org_a, Role.READ)
    lineage = reader.get("/api/v1/lineage/marts.orders_daily", {"direction": "upstream"}).json()
    nodes = {(n["namespace"], n["dataset_id"]): n for n in lineage["nodes"]}
    assert set(nodes) == {
        (WAREHOUSE, "public.orders"),
        (WAREHOUSE, "public.customers"),
        ("bigquery", "marts.orders_daily"),
    }
    assert nodes[("bigquery", "marts.orders_daily")]["written_by"] == ["orders_sync"]
    assert nodes[(WAREHOUSE, "public.orders")]["read_by"] == ["orders_sync"]
    assert len(lineage["edges"]) == 2

    results = {r.check_id: r for r in CheckResult.objects.unscoped().filter(organization=org_a, run=run)}
    assert set(results) == {"not_null:order_id", "unique:order_id"}
    assert results["unique:order_id"].status == "fail"
    assert results["not_null:order_id"].status == "pass"
    assert results["unique:order_id"].dataset.dataset_id == "public.orders"
    assert results["unique:order_id"].pipeline == run.pipeline

    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a, run_id=run_id).count() == 2
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month").value == 2


def test_a_redelivered_event_changes_nothing(live_server, org_a, make_key):
    client = ol_client(live_server, make_key(org_a, Role.WRITE), gzip=True)
    run_id = str(uuid.uuid4())
    inputs, outputs = datasets_with_failing_assertion()
    event = run_event(
        RunState.COMPLETE, run_id, datetime(2026, 11, 26, 7, 0, tzinfo=UTC), inputs=inputs, outputs=outputs
    )

    client.emit(event)
    client.emit(event)

    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 1
    assert CheckResult.objects.unscoped().filter(organization=org_a).count() == 2
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 2
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month").value == 1


def test_never_valid_events_are_4xx_so_the_client_does_not_retry(live_server, org_a, make_key):
    client = ol_client(live_server, make_key(org_a, Role.READ), gzip=False)
    with pytest.raises(HTTPError) as failure:
        client.emit(run_event(RunState.START, str(uuid.uuid4()), datetime.now(UTC)))
    assert failure.value.response.status_code == 403
    assert not OpenLineageEvent.objects.unscoped().exists()


def test_one_organizations_events_never_touch_anothers_graph(live_server, org_a, org_b, make_key, make_client):
    client_a = ol_client(live_server, make_key(org_a, Role.WRITE), gzip=False)
    client_b = ol_client(live_server, make_key(org_b, Role.WRITE), gzip=True)
    inputs, outputs = datasets_with_failing_assertion()
    when = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    client_a.emit(run_event(RunState.COMPLETE, str(uuid.uuid4()), when, inputs=inputs, outputs=outputs))
    shared_run_id = str(uuid.uuid4())
    # Org B reports the same dataset names and a same-named job, with an extra output of its own.
    extra = OutputDataset(namespace="bigquery", name="b_private_mart")
    client_b.emit(run_event(RunState.COMPLETE, shared_run_id, when, inputs=inputs, outputs=[*outputs, extra]))

    a_reader, b_reader = make_client(org_a, Role.READ), make_client(org_b, Role.READ)
    a_graph = a_reader.get("/api/v1/lineage/public.orders", {"direction": "downstream"}).json()
    assert {n["dataset_id"] for n in a_graph["nodes"]} == {"public.orders", "marts.orders_daily"}
    assert Dataset.objects.unscoped().filter(organization=org_a).count() == 3
    assert CheckResult.objects.unscoped().filter(organization=org_a).count() == 2
    assert not RunRow.objects.unscoped().filter(organization=org_a, run_id=shared_run_id).exists()

    assert a_reader.get("/api/v1/lineage/b_private_mart").status_code == 404
    b_graph = b_reader.get("/api/v1/lineage/public.orders", {"direction": "downstream"}).json()
    assert {n["dataset_id"] for n in b_graph["nodes"]} == {"public.orders", "marts.orders_daily", "b_private_mart"}


def test_the_client_configured_only_from_the_environment_reaches_the_catalog(
    live_server, org_a, make_key, monkeypatch, tmp_path
):
    """What the README tells Airflow users: OPENLINEAGE_URL and OPENLINEAGE_API_KEY, nothing else."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENLINEAGE_URL", live_server.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", make_key(org_a, Role.WRITE))
    monkeypatch.chdir(tmp_path)  # no openlineage.yml around

    OpenLineageClient().emit(run_event(RunState.START, str(uuid.uuid4()), datetime.now(UTC), job="env_configured"))

    assert RunRow.objects.unscoped().get(organization=org_a, pipeline__name="env_configured").status == "running"
