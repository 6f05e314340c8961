"""One node per physical dataset: a pipeline.json dataset (connection + table) and an OpenLineage dataset
of the same table (postgres://host:port + db.schema.table, bigquery, snowflake, s3...) are one node,
whichever arrived first; `symlinks` are honoured; another organization's connection is never used."""

import json
import uuid

import pytest

from catalog.models import Connection
from lineage import naming
from lineage.models import Dataset

SPEC = {
    "name": "orders_sync",
    "version": "1",
    "sources": [{"id": "raw_orders", "connection_id": "wh", "table": "public.orders"}],
    "transforms": [{"id": "clean_orders", "inputs": ["raw_orders"], "sql": "SELECT * FROM raw_orders"}],
    "targets": [{"id": "clean_orders", "connection_id": "bq", "table": "analytics.clean_orders"}],
}


def warehouse(organization, host="warehouse.example.com"):
    Connection.objects.create(
        organization=organization,
        connection_id="wh",
        type="postgres",
        config={"host": host, "port": 5432, "database": "shop", "user": "reader"},
    )
    Connection.objects.create(
        organization=organization, connection_id="bq", type="bigquery", config={"project": "acme-data"}
    )


def ol_event(job, inputs, outputs, when="2026-11-26T06:00:00Z"):
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [
            {"namespace": ns, "name": name, **extra} for ns, name, *rest in outputs for extra in (rest or [{}])
        ],
    }


def post(client, body):
    response = client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response


def register(client, spec=SPEC):
    response = client.post("/api/v1/pipelines/", data=spec, format="json")
    assert response.status_code == 201, response.content


def downstream_names(client, dataset_id):
    answer = client.get(f"/api/v1/lineage/{dataset_id}?direction=downstream&depth=2").json()
    return {node["dataset_id"] for node in answer["nodes"]}


def test_a_spec_dataset_then_an_event_of_the_same_table_is_one_node(client_a, org_a):
    warehouse(org_a)
    register(client_a)
    # Host case and the default port spelled out: still the same table.
    post(
        client_a, ol_event("report", [("postgres://WAREHOUSE.example.com:5432", "shop.public.orders")], [("wh2", "r")])
    )

    assert downstream_names(client_a, "raw_orders") == {"raw_orders", "clean_orders", "r"}
    assert not Dataset.objects.unscoped().filter(organization=org_a, dataset_id="shop.public.orders").exists()


def test_an_event_dataset_then_the_spec_of_the_same_table_is_one_node(client_a, org_a):
    warehouse(org_a)
    post(client_a, ol_event("report", [("postgresql://warehouse.example.com", "shop.public.orders")], [("wh2", "r")]))
    post(client_a, ol_event("load", [("bigquery", "acme-data.analytics.clean_orders")], [("wh2", "x")]))

    register(client_a)

    assert downstream_names(client_a, "raw_orders") == {"raw_orders", "clean_orders", "r", "x"}
    assert Dataset.objects.unscoped().filter(organization=org_a).count() == 4
    # The node is still found under the name the events use.
    graph = client_a.get("/api/v1/lineage/shop.public.orders?namespace=postgres://warehouse.example.com:5432")
    assert graph.status_code == 200 and graph.json()["dataset"]["dataset_id"] == "raw_orders"


def test_another_organizations_connection_is_never_used(client_a, org_a, org_b, make_key):
    from rest_framework.test import APIClient

    warehouse(org_b)  # org B has "wh" on the same host; org A has no connection "wh"
    client_b = APIClient()
    client_b.credentials(HTTP_X_API_KEY=make_key(org_b, "write"))
    post(client_b, ol_event("b_job", [("postgres://warehouse.example.com:5432", "shop.public.orders")], [("b", "o")]))

    register(client_a)

    raw = Dataset.objects.unscoped().get(organization=org_a, dataset_id="raw_orders")
    assert raw.physical_name == ""
    assert Dataset.objects.unscoped().get(organization=org_b, dataset_id="shop.public.orders").organization == org_b


def test_a_symlinked_storage_path_and_its_table_are_one_node(client_a, org_a):
    symlinks = {
        "facets": {
            "symlinks": {"identifiers": [{"namespace": "bigquery", "name": "acme-data.mart.o", "type": "TABLE"}]}
        }
    }
    post(client_a, ol_event("spark_job", [("s3://lake", "/raw/o")], [("gs://acme-bq-staging", "/mart/o", symlinks)]))
    post(client_a, ol_event("reader", [("bigquery", "acme-data.mart.o")], [("wh2", "report")]))

    assert downstream_names(client_a, "/raw/o") == {"/raw/o", "/mart/o", "report"}


NAMES = {
    "postgres default port": (
        ("postgres://DB.example.com", "Shop.Public.Orders"),
        "postgres://db.example.com:5432/shop.public.orders",
    ),
    "postgresql alias": (("postgresql://db:6432", "shop.public.o"), "postgres://db:6432/shop.public.o"),
    "bigquery": (("bigquery", "proj.ds.t"), "bigquery/proj.ds.t"),
    "bigquery needs three parts": (("bigquery", "ds.t"), ""),
    "snowflake upper-cases": (("snowflake://ORG-ACCOUNT", "db.sch.t"), "snowflake://org-account/DB.SCH.T"),
    "s3 path": (("s3://bucket", "/a/b/"), "s3://bucket/a/b"),
    "s3a alias": (("s3a://bucket", "a/b"), "s3://bucket/a/b"),
    "gcs": (("gs://bucket", "x.parquet"), "gs://bucket/x.parquet"),
    "local file": (("file", "/data/x.csv"), "file:///data/x.csv"),
    "unknown scheme": (("kafka://broker:9092", "topic"), ""),
    "airflow-ish namespace": (("pg", "public.src"), ""),
}


@pytest.mark.parametrize("given, expected", NAMES.values(), ids=NAMES.keys())
def test_openlineage_names_are_canonicalised(given, expected):
    assert naming.physical_name(*given) == expected


def test_connection_names_match_the_openlineage_names():
    pg = {"dsn": "postgresql://reader@warehouse.example.com/shop"}
    assert naming.connection_physical_name("postgres", pg, "orders") == naming.physical_name(
        "postgres://warehouse.example.com:5432", "shop.public.orders"
    )
    assert naming.connection_physical_name("bigquery", {"project": "p"}, "ds.t") == "bigquery/p.ds.t"
    snowflake = {"account": "org-acct", "database": "ANALYTICS", "schema": "MART"}
    assert (
        naming.connection_physical_name("snowflake", snowflake, "orders")
        == "snowflake://org-acct/ANALYTICS.MART.ORDERS"
    )
    assert naming.connection_physical_name("postgres", {"host_secret": "env:X", "database": "d"}, "t") == ""
