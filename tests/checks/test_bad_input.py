"""Odd payloads and query strings: always a clear 4xx, never a 500, nothing recorded on a refusal."""

import pytest

from checks.models import CheckResult
from tests.checks.factories import make_connection

ODD_EXECUTE_PAYLOADS = [
    {"check_id": ["a"], "connection_id": "shop", "sql": "SELECT 0"},
    {"check_id": "a", "connection_id": {"x": 1}, "sql": "SELECT 0"},
    {"check_id": "a", "connection_id": "shop", "sql": 123},
    {"check_id": "a", "connection_id": "shop", "sql": None},
    {"check_id": None, "connection_id": "shop", "sql": "SELECT 0"},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "run_id": ["x"]},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "pipeline": 5},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "severity": None},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "threshold": None},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "result_id": ""},
    {"check_id": "a" * 300, "connection_id": "shop", "sql": "SELECT 0"},
    {"check_id": "a", "connection_id": "shop", "sql": "SELECT '\x00'"},
]


@pytest.mark.parametrize("payload", ODD_EXECUTE_PAYLOADS)
def test_odd_execute_payloads_are_400_and_record_nothing(client_a, org_a, sqlite_warehouse, payload):
    make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})
    response = client_a.post("/api/v1/checks/execute", payload, format="json")
    assert response.status_code == 400, response.content
    assert not CheckResult.objects.unscoped().exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cursor=not-a-cursor", 404),
        ("page_size=-1", 200),
        ("page_size=abc", 200),
        ("executed_after=2025-13-01", 400),
        ("run=%00", 400),
        ("pipeline=" + "x" * 5000, 200),
    ],
)
def test_odd_list_queries(client_a, query, expected):
    assert client_a.get(f"/api/v1/checks/results?{query}").status_code == expected


def test_an_odd_result_id_in_the_path_is_404(client_a):
    assert client_a.get("/api/v1/checks/results/%00").status_code == 404
    assert client_a.get("/api/v1/checks/results/no-such-result/").status_code == 404


@pytest.mark.parametrize("field", ["threshold", "violations", "duration_ms"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_non_finite_numbers_in_a_result_are_400_and_record_nothing(client_a, field, value):
    payload = {"check_id": "adhoc", "violations": 0, field: value}
    response = client_a.post("/api/v1/checks/results", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CheckResult.objects.unscoped().exists()


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_non_finite_threshold_to_execute_is_400(client_a, org_a, sqlite_warehouse, value):
    make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})
    payload = {"check_id": "a", "connection_id": "shop", "sql": "SELECT 0", "threshold": value}
    response = client_a.post("/api/v1/checks/execute", payload, format="json")
    assert response.status_code == 400, response.content
    assert not CheckResult.objects.unscoped().exists()


def test_a_posted_error_message_is_stored_without_the_dsn_password(client_a):
    message = "connection to postgresql://etl:hunter2secret@db:5432/shop failed"
    payload = {"check_id": "adhoc", "status": "error", "error_message": message}
    response = client_a.post("/api/v1/checks/results", payload, format="json")
    assert response.status_code == 201, response.content
    assert "hunter2secret" not in response.json()["error_message"]
    assert "hunter2secret" not in CheckResult.objects.unscoped().get().error_message
