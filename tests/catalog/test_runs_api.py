"""POST /api/v1/runs/, PATCH and GET /api/v1/runs/{run_id}: run events as DAGs post them."""

from datetime import UTC, datetime

import pytest

from catalog.models import Run
from checks.models import CheckDefinition, CheckResult
from orgs.models import Role, UsageCounter
from tests.catalog.conftest import small_spec

pytestmark = pytest.mark.django_db

START = {"pipeline_id": "orders_sync", "status": "running", "started_at": "2025-06-01T06:00:00Z"}


@pytest.fixture
def pipeline_a(org_a, register, example_spec):
    return register(org_a, example_spec).pipeline


def post_run(client, body, path="/api/v1/runs/"):
    return client.post(path, body, format="json")


class TestPostRun:
    @pytest.mark.parametrize("path", ["/api/v1/runs/", "/api/v1/runs"])
    def test_reference_call_creates_a_run_with_a_generated_id(self, client_a, pipeline_a, path):
        response = post_run(client_a, START, path)
        assert response.status_code == 201
        body = response.json()
        assert body["run_id"].startswith("run-")
        assert (body["pipeline_id"], body["status"], body["pipeline_version"]) == ("orders_sync", "running", "3")
        assert body["started_at"] == "2025-06-01T06:00:00Z"

    def test_posting_again_for_the_same_run_id_is_an_event_not_a_new_run(self, client_a, pipeline_a):
        airflow_id = "scheduled__2025-06-01T06:00:00+00:00"
        assert post_run(client_a, {**START, "run_id": airflow_id}).status_code == 201
        response = post_run(
            client_a,
            {
                "pipeline_id": "orders_sync",
                "run_id": airflow_id,
                "status": "success",
                "finished_at": "2025-06-01T06:20:00Z",
                "attributes": {"rows": 42},
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["duration_seconds"], body["attributes"]) == ("success", 1200.0, {"rows": 42})
        assert Run.objects.unscoped().count() == 1

    def test_terminal_run_going_back_is_409_and_unchanged(self, client_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1", "status": "failed"})
        response = post_run(client_a, {**START, "run_id": "r1", "status": "success"})
        assert response.status_code == 409
        assert "already failed" in response.json()["detail"]
        assert Run.objects.unscoped().get().status == "failed"

    def test_explicit_pipeline_version(self, client_a, register, org_a, example_spec, pipeline_a):
        register(org_a, {**example_spec, "version": "4"})
        response = post_run(client_a, {**START, "pipeline_version": "3"})
        assert response.json()["pipeline_version"] == "3"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"status": "running"}, "pipeline_id"),
            ({**START, "pipeline_id": "no_such_pipeline"}, "pipeline_id"),
            ({**START, "status": "done"}, "status"),
            ({**START, "started_at": "yesterday"}, "started_at"),
            ({**START, "finished_at": "2025-06-01T05:00:00Z", "status": "success"}, "finished_at"),
            ({**START, "pipeline_version": "99"}, "pipeline_version"),
            ({**START, "run_id": "a/b"}, "run_id"),
            ({**START, "attributes": ["not", "an", "object"]}, "attributes"),
        ],
    )
    def test_bad_input_is_400_with_field_messages(self, client_a, pipeline_a, body, field):
        response = post_run(client_a, body)
        assert response.status_code == 400
        assert field in response.json()
        assert not Run.objects.unscoped().exists()

    def test_pipeline_of_another_organization_is_unknown(self, client_b, pipeline_a):
        response = post_run(client_b, START)
        assert response.status_code == 400
        assert "No pipeline named 'orders_sync'" in response.json()["pipeline_id"][0]
        assert not Run.objects.unscoped().exists()

    def test_read_key_cannot_post(self, make_client, org_a, pipeline_a):
        assert post_run(make_client(org_a, Role.READ), START).status_code == 403

    def test_a_created_run_is_counted_once_for_the_plan(self, client_a, org_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1"})
        post_run(client_a, {**START, "run_id": "r1"})
        post_run(client_a, {**START, "run_id": "r1", "status": "success"})
        assert UsageCounter.objects.unscoped().get(organization=org_a, metric="runs_per_month").value == 1

    def test_monthly_limit_is_402_and_creates_nothing(self, client_a, pipeline_a, settings):
        settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "team": {**settings.PLAN_LIMITS["team"], "runs_per_month": 1}}
        assert post_run(client_a, {**START, "run_id": "r1"}).status_code == 201
        response = post_run(client_a, {**START, "run_id": "r2"})
        assert response.status_code == 402
        assert response.json()["limit"] == "runs_per_month"
        assert list(Run.objects.unscoped().values_list("run_id", flat=True)) == ["r1"]


class TestPatchRun:
    @pytest.mark.parametrize("suffix", ["", "/"])
    def test_patch_is_a_lifecycle_event(self, client_a, pipeline_a, suffix):
        post_run(client_a, {**START, "run_id": "r1"})
        response = client_a.patch(f"/api/v1/runs/r1{suffix}", {"status": "cancelled"}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"

    def test_patch_a_finished_run_backwards_is_409(self, client_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1", "status": "success"})
        response = client_a.patch("/api/v1/runs/r1", {"status": "failed"}, format="json")
        assert response.status_code == 409
        assert Run.objects.unscoped().get().status == "success"

    def test_patch_with_another_run_id_in_the_body_is_400(self, client_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1"})
        response = client_a.patch("/api/v1/runs/r1", {"status": "success", "run_id": "r2"}, format="json")
        assert response.status_code == 400 and "run_id" in response.json()

    def test_patch_does_not_read_the_runs_check_results(self, client_a, pipeline_a):
        """A lifecycle event answers the run without its results: reading them would only slow the DAG's call."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        post_run(client_a, {**START, "run_id": "r1"})
        with CaptureQueriesContext(connection) as queries:
            response = client_a.patch("/api/v1/runs/r1", {"status": "success"}, format="json")
        assert response.json()["status"] == "success" and "check_results" not in response.json()
        assert not any(CheckResult._meta.db_table in query["sql"] for query in queries.captured_queries)

    def test_patch_needs_a_valid_status(self, client_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1"})
        assert client_a.patch("/api/v1/runs/r1", {}, format="json").status_code == 400
        assert client_a.patch("/api/v1/runs/r1", {"status": "paused"}, format="json").status_code == 400

    def test_unknown_run_is_404(self, client_a, pipeline_a):
        assert client_a.patch("/api/v1/runs/nope", {"status": "success"}, format="json").status_code == 404

    def test_other_organizations_run_is_404_and_unchanged(
        self, client_a, client_b, org_b, register, example_spec, pipeline_a
    ):
        register(org_b, example_spec)  # B has a pipeline of the same name
        post_run(client_a, {**START, "run_id": "r1"})
        assert client_b.patch("/api/v1/runs/r1", {"status": "success"}, format="json").status_code == 404
        assert client_b.get("/api/v1/runs/r1").status_code == 404
        assert Run.objects.unscoped().get(run_id="r1").status == "running"


class TestGetRun:
    def _result(self, run, check_id, status, severity, **extra):
        definition = CheckDefinition.objects.unscoped().filter(check_id=check_id).first()
        return CheckResult.objects.create(
            organization=run.organization,
            result_id=f"{run.run_id}-{check_id}",
            check_id=check_id,
            check_definition=definition,
            pipeline=run.pipeline,
            run=run,
            status=status,
            severity=severity,
            violations=extra.pop("violations", 0),
            threshold=0,
            executed_at=extra.pop("executed_at", datetime(2025, 6, 1, 6, 30, tzinfo=UTC)),
            **extra,
        )

    def test_run_with_its_check_results_and_a_failing_flag(self, client_a, pipeline_a):
        post_run(client_a, {**START, "run_id": "r1"})
        run = Run.objects.unscoped().get()
        self._result(run, "chk_freshness", "fail", "error", violations=12)
        self._result(run, "chk_order_id_unique", "pass", "error")
        self._result(run, "chk_revenue_not_negative", "error", "warn", error_message="warehouse timed out")
        body = client_a.get("/api/v1/runs/r1").json()
        assert body["health"] == "failing"
        assert body["failed_error_checks"] == 1
        results = {r["check_id"]: r for r in body["check_results"]}
        assert results["chk_freshness"]["violations"] == 12 and results["chk_freshness"]["status"] == "fail"
        assert results["chk_revenue_not_negative"]["error_message"] == "warehouse timed out"
        assert set(results["chk_freshness"]) >= {
            "status",
            "check_id",
            "violations",
            "threshold",
            "severity",
            "executed_at",
            "error_message",
        }

    @pytest.mark.parametrize(
        ("results", "health"),
        [
            ([], "no_checks"),
            ([("pass", "error")], "passing"),
            ([("fail", "warn")], "degraded"),
            ([("pass", "error"), ("error", "error")], "degraded"),
        ],
    )
    def test_health(self, client_a, pipeline_a, results, health):
        post_run(client_a, {**START, "run_id": "r1"})
        run = Run.objects.unscoped().get()
        for index, (status, severity) in enumerate(results):
            self._result(run, f"c{index}", status, severity)
        body = client_a.get("/api/v1/runs/r1/").json()
        assert body["health"] == health and body["failed_error_checks"] == 0

    def test_check_results_are_prefetched_in_a_fixed_number_of_queries(
        self, client_a, pipeline_a, django_assert_num_queries
    ):
        post_run(client_a, {**START, "run_id": "r1"})
        run = Run.objects.unscoped().get()
        self._result(run, "a", "pass", "error")
        with django_assert_num_queries(3) as one:  # key lookup, run (+pipeline, version), results
            client_a.get("/api/v1/runs/r1")
        for index in range(10):
            self._result(run, f"more{index}", "fail", "warn")
        with django_assert_num_queries(len(one.captured_queries)):
            assert len(client_a.get("/api/v1/runs/r1").json()["check_results"]) == 11

    def test_a_run_id_with_airflow_characters_is_reachable(self, client_a, pipeline_a):
        run_id = "manual__2025-06-01T06:00:00+00:00"
        post_run(client_a, {**START, "run_id": run_id})
        assert client_a.get("/api/v1/runs/manual__2025-06-01T06:00:00%2B00:00").json()["run_id"] == run_id

    def test_unknown_run_is_404(self, client_a, pipeline_a, org_a, register):
        register(org_a, small_spec("x"))
        assert client_a.get("/api/v1/runs/nope").status_code == 404
