"""GET /api/v1/lineage/{dataset_id}: nodes and edges to draw, pipelines per node, and the impact of a change."""

import itertools
import json
from pathlib import Path

import pytest
from django.test import override_settings

from lineage.models import Dataset
from orgs.models import Role
from tests.lineage.factories import make_check, make_dataset, make_edge, make_pipeline, register_pipeline_json

ORDERS_SYNC = json.loads((Path(__file__).parent / "orders_sync_pipeline.json").read_text())


@pytest.fixture
def orders_graph(org_a):
    """orders_sync as the catalog records it, plus a second pipeline reading its mart."""
    orders = register_pipeline_json(org_a, ORDERS_SYNC)
    finance = make_pipeline(org_a, "finance_report")
    daily = Dataset.objects.unscoped().get(organization=org_a, dataset_id="orders_daily")
    report = make_dataset(org_a, "finance.revenue_report")
    make_edge(org_a, daily, report, finance)
    make_check(org_a, "chk_report_rows", report, finance, severity="warn")
    return orders, finance


def by_id(answer):
    return {node["dataset_id"]: node for node in answer["nodes"]}


def edge_ids(answer):
    keys = {node["key"]: node["dataset_id"] for node in answer["nodes"]}
    return {(keys[e["source"]], keys[e["target"]], tuple(e["pipelines"])) for e in answer["edges"]}


def test_the_reference_example_answers_upstream_downstream_and_impact(client_a, orders_graph):
    response = client_a.get("/api/v1/lineage/clean_orders")

    assert response.status_code == 200
    answer = response.json()
    assert answer["dataset"]["dataset_id"] == "clean_orders"
    assert answer["dataset"]["table"] == "analytics.clean_orders"
    assert (answer["direction"], answer["depth"], answer["truncated"]) == ("both", 3, False)
    nodes = by_id(answer)
    assert set(nodes) == {"raw_orders", "clean_orders", "orders_daily", "finance.revenue_report"}
    assert nodes["raw_orders"]["upstream_depth"] == 1
    assert nodes["orders_daily"]["downstream_depth"] == 1
    assert nodes["finance.revenue_report"]["downstream_depth"] == 2
    assert nodes["clean_orders"]["written_by"] == ["orders_sync"]
    assert nodes["clean_orders"]["read_by"] == ["orders_sync"]
    assert nodes["orders_daily"]["read_by"] == ["finance_report"]
    assert nodes["finance.revenue_report"]["written_by"] == ["finance_report"]
    assert edge_ids(answer) == {
        ("raw_orders", "clean_orders", ("orders_sync",)),
        ("clean_orders", "orders_daily", ("orders_sync",)),
        ("orders_daily", "finance.revenue_report", ("finance_report",)),
    }
    assert [nodes["raw_orders"]["key"]] == answer["upstream"]
    assert [nodes["orders_daily"]["key"], nodes["finance.revenue_report"]["key"]] == answer["downstream"]

    impact = answer["impact"]
    assert [d["dataset_id"] for d in impact["datasets"]] == ["orders_daily", "finance.revenue_report"]
    assert impact["pipelines"] == ["finance_report", "orders_sync"]
    assert {(c["check_id"], c["dataset_id"], c["pipeline"]) for c in impact["checks"]} == {
        ("chk_freshness", "clean_orders", "orders_sync"),
        ("chk_order_id_unique", "clean_orders", "orders_sync"),
        ("chk_revenue_not_negative", "orders_daily", "orders_sync"),
        ("chk_report_rows", "finance.revenue_report", "finance_report"),
    }


def test_both_slash_forms_and_a_read_key_work(make_client, org_a, orders_graph):
    reader = make_client(org_a, Role.READ)
    assert reader.get("/api/v1/lineage/clean_orders").status_code == 200
    assert reader.get("/api/v1/lineage/clean_orders/").status_code == 200


def test_direction_and_depth_bound_the_walk(client_a, orders_graph):
    up = client_a.get("/api/v1/lineage/finance.revenue_report?direction=upstream&depth=2").json()
    assert set(by_id(up)) == {"finance.revenue_report", "orders_daily", "clean_orders", "raw_customers"}
    assert up["downstream"] is None and up["impact"] is None

    down = client_a.get("/api/v1/lineage/raw_orders?direction=downstream&depth=1").json()
    assert set(by_id(down)) == {"raw_orders", "clean_orders"}
    assert down["upstream"] is None
    assert down["impact"]["pipelines"] == ["orders_sync"]

    alone = client_a.get("/api/v1/lineage/raw_orders?depth=0").json()
    assert set(by_id(alone)) == {"raw_orders"} and alone["edges"] == []


def test_dataset_ids_with_dots_slashes_and_colons(client_a, org_a):
    pipeline = make_pipeline(org_a, "s3_loader")
    source = make_dataset(org_a, "s3://bucket/raw/events.json", namespace="s3")
    target = make_dataset(org_a, "warehouse:analytics.events", namespace="bq")
    make_edge(org_a, source, target, pipeline)

    answer = client_a.get("/api/v1/lineage/s3://bucket/raw/events.json/").json()

    assert answer["dataset"]["dataset_id"] == "s3://bucket/raw/events.json"
    assert {n["dataset_id"] for n in answer["nodes"]} == {"s3://bucket/raw/events.json", "warehouse:analytics.events"}
    assert client_a.get("/api/v1/lineage/warehouse:analytics.events").status_code == 200


def test_namespace_disambiguates_an_id_used_twice(client_a, org_a):
    pipeline = make_pipeline(org_a, "p")
    in_pg = make_dataset(org_a, "public.orders", namespace="postgres://db:5432")
    in_mysql = make_dataset(org_a, "public.orders", namespace="mysql://db:3306")
    make_edge(org_a, in_pg, make_dataset(org_a, "pg_copy"), pipeline)
    make_edge(org_a, in_mysql, make_dataset(org_a, "mysql_copy"), pipeline)

    ambiguous = client_a.get("/api/v1/lineage/public.orders")
    assert ambiguous.status_code == 400
    assert "namespace" in ambiguous.json()

    answer = client_a.get("/api/v1/lineage/public.orders", {"namespace": "mysql://db:3306"}).json()
    assert answer["dataset"]["namespace"] == "mysql://db:3306"
    assert {n["dataset_id"] for n in answer["nodes"]} == {"public.orders", "mysql_copy"}

    # The pipeline.json dataset (empty namespace) wins when there is one.
    make_dataset(org_a, "public.orders")
    assert client_a.get("/api/v1/lineage/public.orders").json()["dataset"]["namespace"] == ""
    assert client_a.get("/api/v1/lineage/public.orders?namespace=").json()["dataset"]["namespace"] == ""
    assert client_a.get("/api/v1/lineage/public.orders?namespace=nope").status_code == 404


@pytest.mark.parametrize("depth", ["abc", "-1", "21", "2.5", "", "1e3"])
def test_bad_depth_is_400_with_a_field_message(client_a, orders_graph, depth):
    response = client_a.get(f"/api/v1/lineage/clean_orders?depth={depth}")
    assert response.status_code == 400
    assert list(response.json()) == ["depth"]


def test_bad_direction_is_400(client_a, orders_graph):
    response = client_a.get("/api/v1/lineage/clean_orders?direction=sideways")
    assert response.status_code == 400
    assert list(response.json()) == ["direction"]


def test_unknown_dataset_is_404(client_a, orders_graph):
    assert client_a.get("/api/v1/lineage/no_such_dataset").status_code == 404


def test_another_organizations_dataset_is_404_and_its_graph_stays_apart(client_a, client_b, org_a, org_b, orders_graph):
    assert client_b.get("/api/v1/lineage/clean_orders").status_code == 404
    assert client_b.get("/api/v1/lineage/clean_orders?namespace=").status_code == 404

    # Org B has the same ids; neither graph shows the other's edges.
    other = make_pipeline(org_b, "orders_sync")
    make_edge(org_b, make_dataset(org_b, "clean_orders"), make_dataset(org_b, "b_only_mart"), other)
    b_answer = client_b.get("/api/v1/lineage/clean_orders").json()
    assert {n["dataset_id"] for n in b_answer["nodes"]} == {"clean_orders", "b_only_mart"}
    assert b_answer["impact"]["checks"] == []
    a_answer = client_a.get("/api/v1/lineage/clean_orders").json()
    assert "b_only_mart" not in {n["dataset_id"] for n in a_answer["nodes"]}


def test_unauthenticated_is_401(orders_graph):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/lineage/clean_orders").status_code == 401


def test_cycles_terminate_at_any_depth(client_a, org_a):
    pipeline = make_pipeline(org_a, "loop")
    a, b, c = (make_dataset(org_a, name) for name in ("a", "b", "c"))
    make_edge(org_a, a, b, pipeline)
    make_edge(org_a, b, c, pipeline)
    make_edge(org_a, c, a, pipeline)
    make_edge(org_a, c, c, pipeline)

    answer = client_a.get("/api/v1/lineage/a?depth=20").json()

    nodes = by_id(answer)
    assert set(nodes) == {"a", "b", "c"}
    assert (nodes["b"]["downstream_depth"], nodes["c"]["downstream_depth"]) == (1, 2)
    assert (nodes["c"]["upstream_depth"], nodes["b"]["upstream_depth"]) == (1, 2)
    assert len(answer["edges"]) == 4


def test_only_the_current_versions_checks_count(client_a, org_a):
    pipeline = make_pipeline(org_a, "p", version="1")
    source, target = make_dataset(org_a, "src"), make_dataset(org_a, "dst")
    make_edge(org_a, source, target, pipeline)
    make_check(org_a, "chk_old", target, pipeline)
    pipeline = make_pipeline(org_a, "p", version="2")
    make_check(org_a, "chk_new", target, pipeline)
    make_check(org_a, "chk_ad_hoc", target, None)

    checks = client_a.get("/api/v1/lineage/src").json()["impact"]["checks"]

    assert sorted(c["check_id"] for c in checks) == ["chk_ad_hoc", "chk_new"]


@override_settings(DATAXPIPE_LINEAGE_MAX_NODES=3)
def test_a_huge_answer_is_cut_at_the_nearest_nodes_and_flagged(client_a, org_a):
    pipeline = make_pipeline(org_a, "fan")
    hub = make_dataset(org_a, "hub")
    for i in range(6):
        make_edge(org_a, hub, make_dataset(org_a, f"leaf{i}"), pipeline)

    answer = client_a.get("/api/v1/lineage/hub?direction=downstream").json()

    assert answer["truncated"] is True
    assert len(answer["nodes"]) == 3 and "hub" in by_id(answer)
    assert len(answer["edges"]) == 2


def _chain(org, pipeline, length, prefix):
    nodes = [make_dataset(org, f"{prefix}{i}") for i in range(length)]
    for left, right in itertools.pairwise(nodes):
        make_edge(org, left, right, pipeline)
        make_check(org, f"chk_{right.dataset_id}", right, pipeline)


def test_query_count_does_not_grow_with_the_graph(client_a, org_a, django_assert_max_num_queries):
    pipeline = make_pipeline(org_a, "chain")
    _chain(org_a, pipeline, 3, "small")
    _chain(org_a, pipeline, 15, "big")
    client_a.get("/api/v1/lineage/small0")  # warm the key's last_used_at write

    with django_assert_max_num_queries(12) as small:
        assert client_a.get("/api/v1/lineage/small1?depth=20").status_code == 200
    with django_assert_max_num_queries(12) as big:
        answer = client_a.get("/api/v1/lineage/big7?depth=20").json()
    assert len(answer["nodes"]) == 15 and len(answer["impact"]["checks"]) == 8  # big7 itself and the 7 below it
    recursive = [q["sql"] for q in big.captured_queries if "RECURSIVE" in q["sql"]]
    assert len(recursive) == 2  # one recursive statement per walk direction
    assert len(small.captured_queries) == len(big.captured_queries)


def test_a_hub_names_a_capped_list_of_pipelines_but_impact_names_them_all(client_a, org_a, monkeypatch):
    from lineage import selectors

    monkeypatch.setattr(selectors, "PIPELINES_PER_NODE", 2)
    hub = make_dataset(org_a, "dim_customers")
    for i in range(4):
        make_edge(org_a, hub, make_dataset(org_a, f"mart{i}"), make_pipeline(org_a, f"reader{i}"))

    answer = client_a.get("/api/v1/lineage/dim_customers?depth=1").json()

    node = by_id(answer)["dim_customers"]
    assert len(node["read_by"]) == 2 and node["read_by_truncated"] is True
    assert node["written_by"] == [] and node["written_by_truncated"] is False
    assert answer["impact"]["pipelines"] == ["reader0", "reader1", "reader2", "reader3"]
    assert sorted(p for e in answer["edges"] for p in e["pipelines"]) == ["reader0", "reader1", "reader2", "reader3"]
