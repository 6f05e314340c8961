"""POST and GET /api/v1/checks/results: recording results computed elsewhere, and finding them."""

from datetime import UTC, datetime, timedelta

import pytest

from checks.models import CheckResult
from orgs.models import Role
from tests.checks.factories import make_dataset, make_run, register_pipeline

ORDERS_CHECKS = [
    {"id": "chk_freshness", "dataset": "clean_orders", "connection_id": "bq-prod", "severity": "error", "threshold": 0},
    {"id": "chk_revenue_not_negative", "dataset": "orders_daily", "severity": "warn", "threshold": 2},
]


@pytest.fixture
def orders_sync(org_a):
    return register_pipeline(org_a, "orders_sync", version="3", checks=ORDERS_CHECKS)


def post(client, payload, slash=True):
    return client.post("/api/v1/checks/results/" if slash else "/api/v1/checks/results", payload, format="json")


def test_a_result_for_a_registered_check_takes_its_pipeline_dataset_severity_and_threshold(client_a, orders_sync):
    run = make_run(orders_sync.organization, orders_sync, "run-abc123")
    response = post(client_a, {"check_id": "chk_revenue_not_negative", "violations": 2, "run_id": "run-abc123"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pass"  # 2 violations <= threshold 2
    assert body["severity"] == "warn"
    assert body["pipeline"] == "orders_sync"
    assert body["dataset"] == "orders_daily"
    assert body["run_id"] == "run-abc123"
    assert body["result_id"].startswith("res-")
    assert CheckResult.objects.unscoped().get(result_id=body["result_id"]).run == run


def test_an_ad_hoc_result_passes_when_violations_do_not_exceed_the_threshold(client_a):
    assert post(client_a, {"check_id": "adhoc", "violations": 0}).json()["status"] == "pass"
    assert post(client_a, {"check_id": "adhoc", "violations": 1}).json()["status"] == "fail"
    body = post(client_a, {"check_id": "adhoc", "violations": 3, "threshold": 5, "severity": "info"}).json()
    assert (body["status"], body["threshold"], body["severity"], body["pipeline"]) == ("pass", 5, "info", None)


def test_posting_the_same_result_id_again_is_idempotent(client_a, orders_sync):
    payload = {"result_id": "chk-run-1", "check_id": "chk_freshness", "violations": 4, "status": "fail"}
    first = post(client_a, payload)
    second = post(client_a, payload, slash=False)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert CheckResult.objects.unscoped().filter(result_id="chk-run-1").count() == 1


def test_the_same_result_id_with_other_content_is_a_conflict(client_a):
    post(client_a, {"result_id": "r-1", "check_id": "adhoc", "violations": 0})
    response = post(client_a, {"result_id": "r-1", "check_id": "adhoc", "violations": 7})
    assert response.status_code == 409
    assert CheckResult.objects.unscoped().get(result_id="r-1").violations == 0


def test_an_error_result_keeps_its_message(client_a):
    response = post(client_a, {"check_id": "adhoc", "status": "error", "error_message": "warehouse down"})
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["error_message"]) == ("error", "warehouse down")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"violations": 1}, "check_id"),
        ({"check_id": "adhoc"}, "violations"),
        ({"check_id": "adhoc", "violations": 5, "status": "pass"}, "status"),
        ({"check_id": "adhoc", "violations": 0, "status": "maybe"}, "status"),
        ({"check_id": "adhoc", "violations": "many"}, "violations"),
        ({"check_id": "adhoc", "violations": -1}, "violations"),
        ({"check_id": "adhoc", "violations": 0, "run_id": "run-unknown"}, "run_id"),
        ({"check_id": "adhoc", "violations": 0, "pipeline": "nope"}, "pipeline"),
        ({"check_id": "adhoc", "violations": 0, "dataset": "nope"}, "dataset"),
        ({"check_id": "adhoc", "violations": 0, "severity": "fatal"}, "severity"),
        ({"check_id": "adhoc", "violations": 0, "executed_at": "yesterday"}, "executed_at"),
        ({"check_id": "adhoc", "violations": 0, "result_id": "has spaces"}, "result_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_records_nothing(client_a, payload, field):
    response = post(client_a, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CheckResult.objects.unscoped().exists()


def test_a_body_that_is_not_an_object_is_a_400(client_a):
    response = client_a.post("/api/v1/checks/results/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_ids_of_another_organization_do_not_resolve(client_b, org_a, orders_sync):
    make_run(org_a, orders_sync, "run-of-a")
    make_dataset(org_a, "secret_dataset")
    for extra in ({"run_id": "run-of-a"}, {"pipeline": "orders_sync"}, {"dataset": "secret_dataset"}):
        response = post(client_b, {"check_id": "chk_freshness", "violations": 0, **extra})
        assert response.status_code == 400, extra
    # A check id defined by org A's pipeline is an ad-hoc check for org B.
    body = post(client_b, {"check_id": "chk_revenue_not_negative", "violations": 1}).json()
    assert (body["status"], body["pipeline"], body["severity"]) == ("fail", None, "error")


def test_a_read_key_cannot_record_results(make_client, org_a):
    response = post(make_client(org_a, Role.READ), {"check_id": "adhoc", "violations": 0})
    assert response.status_code == 403
    assert not CheckResult.objects.unscoped().exists()


def test_no_key_is_401(client):
    assert client.get("/api/v1/checks/results").status_code == 401


def _seed_results(org, pipeline, other_pipeline):
    run = make_run(org, pipeline, "run-1")
    base = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
    rows = [
        ("chk_freshness", "fail", pipeline, run, 0),
        ("chk_freshness", "pass", pipeline, None, 1),
        ("chk_revenue_not_negative", "fail", pipeline, None, 2),
        ("chk_other", "fail", other_pipeline, None, 3),
        ("chk_other", "error", other_pipeline, None, 4),
    ]
    for index, (check_id, status, owner, with_run, hours) in enumerate(rows):
        CheckResult.objects.create(
            organization=org,
            result_id=f"r{index}",
            check_id=check_id,
            status=status,
            pipeline=owner,
            run=with_run,
            severity="warn" if check_id == "chk_revenue_not_negative" else "error",
            dataset=make_dataset(org, "clean_orders") if check_id == "chk_freshness" else None,
            violations=0 if status == "pass" else 3,
            executed_at=base + timedelta(hours=hours),
        )


def ids(response):
    assert response.status_code == 200, response.content
    return [row["result_id"] for row in response.json()["results"]]


def test_the_references_example_lists_failed_results_of_a_pipeline_newest_first(client_a, org_a, orders_sync):
    _seed_results(org_a, orders_sync, register_pipeline(org_a, "billing"))
    assert ids(client_a.get("/api/v1/checks/results?pipeline=orders_sync&status=fail")) == ["r2", "r0"]
    assert ids(client_a.get("/api/v1/checks/results/?pipeline=orders_sync&status=fail")) == ["r2", "r0"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["r4", "r3", "r2", "r1", "r0"]),
        ("check=chk_freshness", ["r1", "r0"]),
        ("run=run-1", ["r0"]),
        ("dataset=clean_orders", ["r1", "r0"]),
        ("severity=warn", ["r2"]),
        ("status=error", ["r4"]),
        ("executed_after=2025-06-01T08:00:00Z", ["r4", "r3", "r2"]),
        ("executed_before=2025-06-01T08:00:00Z", ["r1", "r0"]),
        ("pipeline=unknown", []),
    ],
)
def test_filters(client_a, org_a, orders_sync, query, expected):
    _seed_results(org_a, orders_sync, register_pipeline(org_a, "billing"))
    assert ids(client_a.get(f"/api/v1/checks/results?{query}")) == expected


@pytest.mark.parametrize("query", ["status=broken", "severity=fatal", "executed_after=noon"])
def test_invalid_filter_values_are_a_400(client_a, query):
    assert client_a.get(f"/api/v1/checks/results?{query}").status_code == 400


def test_cursor_pagination_walks_every_result_once(client_a, org_a, orders_sync):
    _seed_results(org_a, orders_sync, register_pipeline(org_a, "billing"))
    seen, url = [], "/api/v1/checks/results?page_size=2"
    while url:
        response = client_a.get(url)
        seen += ids(response)
        url = response.json()["next"]
    assert seen == ["r4", "r3", "r2", "r1", "r0"]
    assert "count" not in response.json()


def test_the_list_runs_a_constant_number_of_queries(client_a, org_a, orders_sync, django_assert_max_num_queries):
    _seed_results(org_a, orders_sync, register_pipeline(org_a, "billing"))
    with django_assert_max_num_queries(4) as few:
        client_a.get("/api/v1/checks/results?page_size=1")
    for index in range(30):
        run = make_run(org_a, orders_sync, f"run-more-{index}")
        CheckResult.objects.create(
            organization=org_a,
            result_id=f"more-{index}",
            check_id="chk_freshness",
            status="fail",
            pipeline=orders_sync,
            run=run,
            dataset=make_dataset(org_a, f"ds-{index}"),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client_a.get("/api/v1/checks/results?page_size=50")
    assert len(response.json()["results"]) == 35


def test_another_organizations_results_are_invisible(client_a, client_b, org_a, orders_sync):
    _seed_results(org_a, orders_sync, register_pipeline(org_a, "billing"))
    assert ids(client_b.get("/api/v1/checks/results")) == []
    assert client_b.get("/api/v1/checks/results/r0").status_code == 404
    assert client_a.get("/api/v1/checks/results/r0").json()["check_id"] == "chk_freshness"
    # Org B may reuse the same result id for its own result.
    assert post(client_b, {"result_id": "r0", "check_id": "adhoc", "violations": 0}).status_code == 201
    assert CheckResult.objects.unscoped().get(organization=org_a, result_id="r0").status == "fail"


@pytest.mark.django_db(transaction=True)
def test_idempotency_holds_outside_a_test_transaction(make_client, make_org):
    """The service inserts in autocommit when no transaction is open (as in production requests)."""
    client = make_client(make_org("org-t"))
    payload = {"result_id": "auto-1", "check_id": "adhoc", "violations": 2}
    first, second = post(client, payload), post(client, payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert post(client, {**payload, "violations": 3}).status_code == 409
    assert CheckResult.objects.unscoped().filter(result_id="auto-1").count() == 1
