"""Column lineage and schemas: stored from the `columnLineage` and `schema` facets, answered per column by
GET /api/v1/lineage/{id}?columns=true within the depth bound, never across organizations."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from lineage.models import ColumnLineageEdge
from orgs.models import Role


def hop(job, source, target, column_map, when="2026-11-26T06:00:00Z", facet_version="1-2-0"):
    """A COMPLETE of `job` reading `source` and writing `target`; column_map: target column -> (source column, type)."""
    fields = {}
    for target_column, (source_column, kind) in column_map.items():
        if facet_version == "1-2-0":
            source_field = {"namespace": "wh", "name": source, "field": source_column}
            if kind:
                source_field["transformations"] = [{"type": "DIRECT", "subtype": kind}]
            fields[target_column] = {"inputFields": [source_field]}
        else:  # 1-0-x: the transformation on the output column
            fields[target_column] = {
                "inputFields": [{"namespace": "wh", "name": source, "field": source_column}],
                "transformationType": kind,
                "transformationDescription": "sum by day",
            }
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "spark", "name": job},
        "inputs": [{"namespace": "wh", "name": source}],
        "outputs": [
            {
                "namespace": "wh",
                "name": target,
                "facets": {
                    "schema": {"fields": [{"name": c, "type": "string"} for c in column_map]},
                    "columnLineage": {"fields": fields},
                },
            }
        ],
    }


@pytest.fixture
def client_for(make_key):
    def make(organization):
        api = APIClient()
        api.credentials(HTTP_X_API_KEY=make_key(organization, Role.WRITE))
        return api

    return make


def post(client, body):
    response = client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response


def columns_of(client, dataset, depth):
    response = client.get(f"/api/v1/lineage/{dataset}?columns=true&depth={depth}&direction=upstream")
    assert response.status_code == 200, response.content
    return response.json()["columns"]


def test_each_column_names_its_upstream_columns_with_the_transformation(client_for, org_a):
    client = client_for(org_a)
    post(client, hop("clean", "raw.orders", "staging.orders", {"amount": ("amount_cents", "TRANSFORMATION")}))
    post(client, hop("daily", "staging.orders", "mart.daily", {"revenue": ("amount", None)}, facet_version="1-0-0"))
    post(client, hop("daily", "staging.orders", "mart.daily", {"revenue": ("amount", "AGGREGATION")}))

    near = columns_of(client, "mart.daily", 1)
    far = columns_of(client, "mart.daily", 5)

    assert near["schema"] == [{"name": "revenue", "type": "string"}]
    assert [c["column"] for c in near["columns"]] == ["revenue"]
    assert [(u["dataset_id"], u["column"], u["depth"]) for u in near["columns"][0]["upstream"]] == [
        ("staging.orders", "amount", 1)
    ]
    upstream = far["columns"][0]["upstream"]
    assert [(u["dataset_id"], u["column"], u["depth"]) for u in upstream] == [
        ("staging.orders", "amount", 1),
        ("raw.orders", "amount_cents", 2),
    ]
    assert upstream[1]["transformation_subtype"] == "TRANSFORMATION"
    assert ColumnLineageEdge.objects.unscoped().filter(organization=org_a).count() == 2


def test_a_cycle_of_columns_stops_at_the_depth_bound(client_for, org_a):
    client = client_for(org_a)
    post(client, hop("a", "t1", "t2", {"x": ("x", None)}))
    post(client, hop("b", "t2", "t1", {"x": ("x", None)}))

    upstream = columns_of(client, "t1", 20)["columns"][0]["upstream"]

    assert sorted((u["dataset_id"], u["depth"]) for u in upstream) == [("t1", 2), ("t2", 1)]


def test_columns_without_the_parameter_are_not_in_the_answer(client_for, org_a):
    client = client_for(org_a)
    post(client, hop("a", "t1", "t2", {"x": ("x", None)}))
    assert "columns" not in client.get("/api/v1/lineage/t2").json()


def test_column_lineage_never_crosses_organizations(client_for, org_a, org_b):
    post(client_for(org_a), hop("a", "secret_src", "shared_name", {"x": ("secret_column", None)}))
    post(client_for(org_b), hop("b", "b_src", "shared_name", {"x": ("b_column", None)}))

    upstream = columns_of(client_for(org_b), "shared_name", 5)["columns"][0]["upstream"]

    assert [(u["dataset_id"], u["column"]) for u in upstream] == [("b_src", "b_column")]
