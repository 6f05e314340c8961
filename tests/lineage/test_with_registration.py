"""End to end with the catalog: a pipeline.json registered through the API, then its lineage and an
OpenLineage run of the same pipeline."""

import json
import uuid
from pathlib import Path

from catalog.models import Run
from lineage.models import LineageEdge

PIPELINE_JSON = Path(__file__).parent / "orders_sync_pipeline.json"


def test_the_reference_curl_works_after_registration(client_a, org_a):
    registered = client_a.post("/api/v1/pipelines/", data=PIPELINE_JSON.read_text(), content_type="application/json")
    assert registered.status_code == 201

    answer = client_a.get("/api/v1/lineage/clean_orders").json()

    nodes = {node["dataset_id"]: node for node in answer["nodes"]}
    assert set(nodes) == {"raw_orders", "clean_orders", "orders_daily"}
    assert nodes["orders_daily"]["written_by"] == ["orders_sync"]
    assert {c["check_id"] for c in answer["impact"]["checks"]} == {
        "chk_freshness",
        "chk_order_id_unique",
        "chk_revenue_not_negative",
    }


def test_an_openlineage_run_of_a_registered_pipeline_keeps_its_edges_across_a_new_version(client_a, org_a):
    spec = json.loads(PIPELINE_JSON.read_text())
    client_a.post("/api/v1/pipelines/", data=spec, format="json")
    run_id = str(uuid.uuid4())
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-26T06:10:00Z",
        "producer": "https://example.com/airflow",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "airflow", "name": "orders_sync"},
        "inputs": [{"namespace": "postgres://oltp:5432", "name": "shop.public.orders"}],
        "outputs": [{"namespace": "bigquery", "name": "acme.analytics.clean_orders"}],
    }
    assert client_a.post("/api/v1/lineage", data=event, format="json").status_code == 201
    run = Run.objects.unscoped().get(organization=org_a, run_id=run_id)
    assert run.pipeline.name == "orders_sync" and not run.pipeline.is_external
    assert run.status == "success"

    spec["version"] = "4"
    assert client_a.post("/api/v1/pipelines/", data=spec, format="json").status_code == 201

    reported = LineageEdge.objects.unscoped().filter(organization=org_a, source__dataset_id="shop.public.orders")
    assert reported.count() == 1
    answer = client_a.get("/api/v1/lineage/shop.public.orders", {"direction": "downstream"}).json()
    assert [n["dataset_id"] for n in answer["nodes"]] == ["shop.public.orders", "acme.analytics.clean_orders"]
