"""GET /api/v1/pipelines/ (filters, pagination, constant queries) and GET /api/v1/pipelines/{name}."""

import pytest

from catalog import services
from tests.catalog.conftest import small_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_a(org_a, register, example_spec):
    register(org_a, example_spec)
    register(org_a, small_spec("billing_export", owner="billing@acme.example", tags=["finance", "export"]))
    register(org_a, small_spec("marketing_events", owner="marketing@acme.example", tags=["events"]))
    return org_a


def names(response):
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


class TestList:
    def test_lists_the_organizations_pipelines_by_name(self, client_a, client_b, catalog_a):
        assert names(client_a.get("/api/v1/pipelines/")) == ["billing_export", "marketing_events", "orders_sync"]
        assert names(client_a.get("/api/v1/pipelines")) == ["billing_export", "marketing_events", "orders_sync"]
        assert names(client_b.get("/api/v1/pipelines/")) == []

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("owner=billing@acme.example", ["billing_export"]),
            ("tag=finance", ["billing_export", "orders_sync"]),
            ("tag=fin", []),
            ("search=order", ["orders_sync"]),
            ("search=EXPORT", ["billing_export"]),
            ("tag=finance&search=sync", ["orders_sync"]),
        ],
    )
    def test_filters(self, client_a, catalog_a, query, expected):
        assert names(client_a.get(f"/api/v1/pipelines/?{query}")) == expected

    def test_paginated(self, client_a, catalog_a):
        page = client_a.get("/api/v1/pipelines/?page_size=2").json()
        assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
        assert names(client_a.get(page["next"])) == ["orders_sync"]

    def test_latest_run_status_is_listed(self, client_a, catalog_a):
        pipeline = catalog_a.pipelines.get(name="orders_sync")
        services.apply_run_event(organization=catalog_a, pipeline=pipeline, status="failed", run_id="r1")
        services.apply_run_event(organization=catalog_a, pipeline=pipeline, status="running", run_id="r2")
        listed = {p["name"]: p["latest_run_status"] for p in client_a.get("/api/v1/pipelines/").json()["results"]}
        assert listed == {"billing_export": None, "marketing_events": None, "orders_sync": "running"}

    def test_query_count_does_not_grow_with_the_page(self, client_a, org_a, register, django_assert_num_queries):
        for index in range(3):
            register(org_a, small_spec(f"p{index}"))
        client_a.get("/api/v1/pipelines/")  # warm the key's last_used_at
        with django_assert_num_queries(3) as small:  # key lookup, count, page
            client_a.get("/api/v1/pipelines/?page_size=1")
        for index in range(3, 12):
            register(org_a, small_spec(f"p{index}"))
        with django_assert_num_queries(len(small.captured_queries)):
            assert len(client_a.get("/api/v1/pipelines/?page_size=12").json()["results"]) == 12

    def test_the_list_does_not_load_the_specs_it_does_not_show(self, client_a, catalog_a):
        """A spec can be large: the list shows each pipeline's version, never its sections."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from catalog.models import PipelineVersion

        spec_column = f"{connection.ops.quote_name(PipelineVersion._meta.db_table)}.{connection.ops.quote_name('spec')}"
        with CaptureQueriesContext(connection) as queries:
            body = client_a.get("/api/v1/pipelines/").json()
        assert {p["name"]: p["version"] for p in body["results"]}["orders_sync"] == "3"
        assert not any(spec_column in query["sql"] for query in queries.captured_queries)
        assert spec_column in str(PipelineVersion.objects.unscoped().query)  # the probe would see the column


class TestDetail:
    def test_current_version_with_sections_and_latest_run(self, client_a, catalog_a):
        pipeline = catalog_a.pipelines.get(name="orders_sync")
        services.apply_run_event(organization=catalog_a, pipeline=pipeline, status="success", run_id="r1")
        for path in ["/api/v1/pipelines/orders_sync", "/api/v1/pipelines/orders_sync/"]:
            body = client_a.get(path).json()
            assert body["version"] == "3"
            assert body["latest_run_status"] == "success"
            assert [t["id"] for t in body["targets"]] == ["clean_orders", "orders_daily"]
            assert [t["inputs"] for t in body["transforms"]] == [["raw_orders"], ["clean_orders", "raw_customers"]]
            assert len(body["checks"]) == 3

    def test_unknown_pipeline_is_404(self, client_a, catalog_a):
        assert client_a.get("/api/v1/pipelines/nope").status_code == 404
        assert client_a.get("/api/v1/pipelines/orders_sync/versions/99").status_code == 404

    def test_read_key_can_read(self, make_client, catalog_a):
        assert make_client(catalog_a, "read").get("/api/v1/pipelines/orders_sync").status_code == 200


def test_versions_list_query_count_does_not_grow(client_a, org_a, register, example_spec, django_assert_num_queries):
    register(org_a, example_spec)
    client_a.get("/api/v1/pipelines/orders_sync/versions")
    with django_assert_num_queries(4) as few:  # key, pipeline, count, page (+pipeline)
        client_a.get("/api/v1/pipelines/orders_sync/versions")
    for version in range(4, 12):
        register(org_a, {**example_spec, "version": str(version)})
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client_a.get("/api/v1/pipelines/orders_sync/versions").json()["results"]) == 9
