"""POST /api/v1/pipelines/: versioned, idempotent, atomic registration of the generated pipeline.json."""

import copy
import json

import pytest

from catalog.models import Pipeline, PipelineVersion
from checks.models import CheckDefinition
from lineage.models import Dataset, LineageEdge
from orgs.models import Role
from tests.catalog.conftest import small_spec

pytestmark = pytest.mark.django_db


def post(client, body, path="/api/v1/pipelines/"):
    return client.post(path, body, format="json")


def edges_of(pipeline_name):
    return sorted(
        (edge.source.dataset_id, edge.target.dataset_id, edge.pipeline_version.version)
        for edge in LineageEdge.objects.unscoped()
        .filter(pipeline__name=pipeline_name)
        .select_related("source", "target", "pipeline_version")
    )


class TestRegister:
    @pytest.mark.parametrize("path", ["/api/v1/pipelines/", "/api/v1/pipelines"])
    def test_example_registers_with_and_without_trailing_slash(self, client_a, example_spec, path):
        response = post(client_a, example_spec, path)
        assert response.status_code == 201
        body = response.json()
        assert body["name"] == "orders_sync" and body["version"] == "3"
        assert body["schedule"] == "0 6 * * *"
        assert [s["id"] for s in body["sources"]] == ["raw_orders", "raw_customers"]
        assert [c["id"] for c in body["checks"]] == ["chk_freshness", "chk_order_id_unique", "chk_revenue_not_negative"]

    def test_same_version_same_content_is_200_and_writes_nothing(self, client_a, example_spec):
        assert post(client_a, example_spec).status_code == 201
        counts = (
            PipelineVersion.objects.unscoped().count(),
            LineageEdge.objects.unscoped().count(),
            CheckDefinition.objects.unscoped().count(),
        )
        # Key order differs: the canonical JSON is the same content.
        reordered = dict(reversed(list(copy.deepcopy(example_spec).items())))
        response = post(client_a, reordered)
        assert response.status_code == 200
        assert response.json()["version"] == "3"
        assert counts == (
            PipelineVersion.objects.unscoped().count(),
            LineageEdge.objects.unscoped().count(),
            CheckDefinition.objects.unscoped().count(),
        )

    def test_same_version_different_content_is_409_and_keeps_the_original(self, client_a, example_spec):
        post(client_a, example_spec)
        changed = {**example_spec, "description": "something else"}
        response = post(client_a, changed)
        assert response.status_code == 409
        assert "bump the version" in response.json()["detail"]
        assert response.json()["code"] == "version_conflict"
        assert Pipeline.objects.unscoped().get(name="orders_sync").description == example_spec["description"]

    def test_new_version_is_201_becomes_current_and_older_stays_readable(self, client_a, example_spec):
        post(client_a, example_spec)
        v4 = {**example_spec, "version": "4", "owner": "new-owner@acme.example"}
        response = post(client_a, v4)
        assert response.status_code == 201
        assert response.json()["version"] == "4"
        assert client_a.get("/api/v1/pipelines/orders_sync").json()["owner"] == "new-owner@acme.example"
        old = client_a.get("/api/v1/pipelines/orders_sync/versions/3")
        assert old.status_code == 200
        assert old.json()["spec"]["owner"] == example_spec["owner"]
        assert old.json()["is_current"] is False
        versions = client_a.get("/api/v1/pipelines/orders_sync/versions/").json()["results"]
        assert [(v["version"], v["is_current"]) for v in versions] == [("4", True), ("3", False)]

    def test_numeric_version_is_the_same_as_its_string(self, client_a, example_spec):
        assert post(client_a, {**example_spec, "version": 3}).status_code == 201
        assert post(client_a, example_spec).status_code == 200

    def test_read_key_cannot_register(self, make_client, org_a, example_spec):
        response = post(make_client(org_a, Role.READ), example_spec)
        assert response.status_code == 403
        assert not Pipeline.objects.unscoped().exists()

    def test_write_key_can_register(self, make_client, org_a, example_spec):
        assert post(make_client(org_a, Role.WRITE), example_spec).status_code == 201

    def test_same_name_in_two_organizations_is_two_pipelines(self, client_a, client_b, example_spec):
        assert post(client_a, example_spec).status_code == 201
        assert post(client_b, {**example_spec, "description": "B's"}).status_code == 201
        assert client_a.get("/api/v1/pipelines/orders_sync").json()["description"] == example_spec["description"]
        assert client_b.get("/api/v1/pipelines/orders_sync").json()["description"] == "B's"


class TestRecordsLineageAndChecks:
    def test_datasets_edges_and_check_definitions_are_recorded(self, client_a, org_a, example_spec):
        post(client_a, example_spec)
        datasets = {d.dataset_id: d for d in Dataset.objects.unscoped().filter(organization=org_a)}
        assert set(datasets) == {"raw_orders", "raw_customers", "clean_orders", "orders_daily"}
        assert all(d.namespace == "" for d in datasets.values())
        # The target says where the transform's dataset lives.
        assert (datasets["clean_orders"].connection_id, datasets["clean_orders"].table) == (
            "bq-prod",
            "analytics.clean_orders",
        )
        assert datasets["raw_orders"].table == "public.orders"
        assert edges_of("orders_sync") == [
            ("clean_orders", "orders_daily", "3"),
            ("raw_customers", "orders_daily", "3"),
            ("raw_orders", "clean_orders", "3"),
        ]
        checks = {
            c.check_id: c
            for c in CheckDefinition.objects.unscoped().filter(organization=org_a).select_related("dataset")
        }
        assert set(checks) == {"chk_freshness", "chk_order_id_unique", "chk_revenue_not_negative"}
        freshness = checks["chk_freshness"]
        assert freshness.dataset.dataset_id == "clean_orders"
        assert freshness.pipeline_version.version == "3"
        assert (freshness.severity, freshness.type, freshness.connection_id, freshness.threshold) == (
            "error",
            "freshness",
            "bq-prod",
            0,
        )
        assert checks["chk_revenue_not_negative"].severity == "warn"

    def test_a_new_version_replaces_the_pipelines_edges(self, client_a, example_spec):
        post(client_a, example_spec)
        v4 = copy.deepcopy(example_spec)
        v4["version"] = "4"
        v4["transforms"][1]["inputs"] = ["clean_orders"]  # no longer joins customers
        post(client_a, v4)
        assert edges_of("orders_sync") == [("clean_orders", "orders_daily", "4"), ("raw_orders", "clean_orders", "4")]
        # Check definitions stay per version: both versions have theirs.
        assert CheckDefinition.objects.unscoped().filter(pipeline_version__version="3").count() == 3
        assert CheckDefinition.objects.unscoped().filter(pipeline_version__version="4").count() == 3

    def test_openlineage_edges_of_the_pipeline_survive_a_new_version(self, client_a, org_a, example_spec):
        post(client_a, example_spec)
        pipeline = Pipeline.objects.unscoped().get()
        observed = [
            Dataset.objects.create(organization=org_a, namespace="postgres://db:5432", dataset_id=name)
            for name in ("orders.public.orders", "orders.public.clean")
        ]
        LineageEdge.objects.create(organization=org_a, source=observed[0], target=observed[1], pipeline=pipeline)
        post(client_a, {**example_spec, "version": "4"})
        assert LineageEdge.objects.unscoped().filter(pipeline=pipeline, source=observed[0]).exists()
        assert LineageEdge.objects.unscoped().filter(pipeline=pipeline, pipeline_version__version="4").count() == 3

    def test_a_target_loaded_from_another_dataset_gets_an_edge(self, client_a):
        spec = small_spec("export")
        spec["targets"] = [{"id": "export_file", "inputs": ["export_out"], "connection_id": "bq-prod", "table": "x.y"}]
        assert post(client_a, spec).status_code == 201
        assert edges_of("export") == [("export_out", "export_file", "1"), ("export_src", "export_out", "1")]

    def test_datasets_are_shared_across_pipelines_of_an_organization(self, client_a, org_a, example_spec):
        post(client_a, example_spec)
        downstream = small_spec("finance_report")
        downstream["sources"] = [{"id": "orders_daily", "connection_id": "bq-prod", "table": "marts.orders_daily"}]
        downstream["transforms"] = [{"id": "finance_report_out", "inputs": ["orders_daily"]}]
        post(client_a, downstream)
        assert Dataset.objects.unscoped().filter(organization=org_a, dataset_id="orders_daily").count() == 1
        assert edges_of("finance_report") == [("orders_daily", "finance_report_out", "1")]

    def test_other_organizations_datasets_are_untouched(self, client_a, client_b, org_b, example_spec):
        post(
            client_b,
            {
                **example_spec,
                "sources": example_spec["sources"][:1],
                "transforms": [{"id": "clean_orders", "inputs": ["raw_orders"]}],
                "checks": [],
                "targets": [],
            },
        )
        before = list(Dataset.objects.unscoped().filter(organization=org_b).values_list("dataset_id", "table"))
        post(client_a, example_spec)
        assert list(Dataset.objects.unscoped().filter(organization=org_b).values_list("dataset_id", "table")) == before
        assert LineageEdge.objects.unscoped().filter(organization=org_b).count() == 1


class TestPlanLimit:
    @pytest.fixture
    def one_pipeline_plan(self, settings):
        limits = copy.deepcopy(settings.PLAN_LIMITS)
        limits["team"]["pipelines"] = 1
        settings.PLAN_LIMITS = limits

    def test_a_new_name_over_the_limit_is_402_and_writes_nothing(self, client_a, example_spec, one_pipeline_plan):
        assert post(client_a, example_spec).status_code == 201
        datasets_before = Dataset.objects.unscoped().count()
        response = post(client_a, small_spec("second"))
        assert response.status_code == 402
        assert response.json()["limit"] == "pipelines"
        assert not Pipeline.objects.unscoped().filter(name="second").exists()
        assert Dataset.objects.unscoped().count() == datasets_before

    def test_a_new_version_of_an_existing_pipeline_is_not_limited(self, client_a, example_spec, one_pipeline_plan):
        post(client_a, example_spec)
        assert post(client_a, {**example_spec, "version": "4"}).status_code == 201

    def test_registering_a_pipeline_first_seen_through_openlineage_counts_it(
        self, client_a, org_a, example_spec, one_pipeline_plan
    ):
        Pipeline.objects.create(organization=org_a, name="orders_sync", is_external=True)
        Pipeline.objects.create(organization=org_a, name="other", is_external=False)
        assert post(client_a, example_spec).status_code == 402
        assert Pipeline.objects.unscoped().get(name="orders_sync").is_external is True


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "field", "fragment"),
        [
            (lambda s: s.pop("name"), "name", "required"),
            (lambda s: s.pop("version"), "version", "required"),
            (lambda s: s.update(name="has space"), "name", "Letters"),
            (lambda s: s.update(schedule="every day at six"), "schedule", "not a valid cron"),
            (lambda s: s.update(schedule="61 6 * * *"), "schedule", "not a valid cron"),
            (lambda s: s.update(tags="finance"), "tags", "list"),
            (lambda s: s["transforms"][0].update(inputs=["nowhere"]), "transforms[0].inputs", "'nowhere'"),
            # An input that is a LATER transform is not allowed (no cycles, declaration order).
            (lambda s: s["transforms"][0].update(inputs=["orders_daily"]), "transforms[0].inputs", "earlier"),
            (lambda s: s["transforms"][0].update(inputs=[]), "transforms[0].inputs", "at least one"),
            (lambda s: s["checks"][0].update(dataset="unknown_table"), "checks[0].dataset", "unknown_table"),
            (lambda s: s["sources"].append({"id": "raw_orders"}), "sources[2]", "Duplicate"),
            (
                lambda s: s["transforms"].append({"id": "raw_orders", "inputs": ["raw_customers"]}),
                "transforms[2]",
                "Duplicate",
            ),
            (lambda s: s["checks"].append(dict(s["checks"][0])), "checks[3]", "Duplicate"),
            (lambda s: s["targets"].append(dict(s["targets"][0])), "targets[2]", "Duplicate"),
            (lambda s: s["checks"][0].update(severity="fatal"), "checks[0].severity", "error"),
            (lambda s: s["checks"][0].update(threshold="zero"), "checks[0].threshold", "number"),
            (lambda s: s.update(sources={"id": "x"}), "sources", "list"),
            (lambda s: s["sources"][0].pop("id"), "sources[0]", "id"),
        ],
    )
    def test_bad_spec_is_400_with_a_field_message_and_writes_nothing(
        self, client_a, example_spec, change, field, fragment
    ):
        change(example_spec)
        response = post(client_a, example_spec)
        assert response.status_code == 400, response.content
        assert field in response.json(), response.json()
        assert any(fragment in message for message in response.json()[field])
        assert not Pipeline.objects.unscoped().exists()
        assert not Dataset.objects.unscoped().exists()

    def test_non_object_body_is_400(self, client_a):
        assert post(client_a, [1, 2]).status_code == 400

    def test_malformed_json_is_400(self, client_a):
        response = client_a.post("/api/v1/pipelines/", data="{not json", content_type="application/json")
        assert response.status_code == 400

    def test_body_over_one_mebibyte_is_413(self, client_a, example_spec):
        example_spec["description"] = "x" * (1024 * 1024 + 1)
        response = client_a.post("/api/v1/pipelines/", data=json.dumps(example_spec), content_type="application/json")
        assert response.status_code == 413
        assert not Pipeline.objects.unscoped().exists()


class TestCrossOrganization:
    def test_other_organizations_pipeline_is_404_everywhere(self, client_a, client_b, example_spec):
        post(client_a, example_spec)
        for path in [
            "/api/v1/pipelines/orders_sync",
            "/api/v1/pipelines/orders_sync/",
            "/api/v1/pipelines/orders_sync/versions",
            "/api/v1/pipelines/orders_sync/versions/3",
            "/api/v1/pipelines/orders_sync/runs",
        ]:
            assert client_b.get(path).status_code == 404, path
        assert client_b.get("/api/v1/pipelines/").json()["count"] == 0


class TestAtomicity:
    def test_a_failure_while_recording_checks_leaves_nothing_behind(self, client_a, example_spec, monkeypatch):
        from checks import services as checks_services

        def broken(*args, **kwargs):
            raise RuntimeError("the database went away half-way")

        # The check definitions are the registration's last write (workflows.registration).
        monkeypatch.setattr(checks_services, "create_check_definitions", broken)
        client_a.raise_request_exception = False
        response = post(client_a, example_spec)
        assert response.status_code == 500
        assert not Pipeline.objects.unscoped().exists()
        assert not PipelineVersion.objects.unscoped().exists()
        assert not Dataset.objects.unscoped().exists() and not LineageEdge.objects.unscoped().exists()

    def test_a_failed_new_version_keeps_the_previous_one_current_with_its_edges(
        self, client_a, example_spec, monkeypatch
    ):
        from checks import services as checks_services

        post(client_a, example_spec)
        monkeypatch.setattr(checks_services, "create_check_definitions", lambda *a, **kw: 1 / 0)
        client_a.raise_request_exception = False
        assert post(client_a, {**example_spec, "version": "4"}).status_code == 500
        assert Pipeline.objects.unscoped().get().current_version.version == "3"
        assert {v for *_, v in edges_of("orders_sync")} == {"3"}
