"""Errors that tell the truth: a bug is a logged 500 with a request id, only an unreachable database is a 503,
and domain refusals keep the bodies clients already parse."""

import copy
import json
import logging
from pathlib import Path

import pytest
from django.test import Client

from orgs.models import Plan

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.errors.urls")]

EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "workflows/demo/fixtures/orders_sync_pipeline.json"


@pytest.fixture
def anonymous():
    # The real handlers answer, as in production, instead of the test client re-raising the exception.
    return Client(raise_request_exception=False)


def errors_logged(caplog):
    return [r for r in caplog.records if r.name == "dataxpipe.errors" and r.levelno >= logging.ERROR]


def test_a_broken_query_is_a_500_with_a_request_id_and_a_logged_traceback(anonymous, caplog):
    with caplog.at_level(logging.ERROR, logger="dataxpipe.errors"):
        response = anonymous.get("/api/v1/_errors/broken-query")

    assert response.status_code == 500, response.content  # not 503: the database is up, the query is wrong
    request_id = response["X-Request-ID"]
    assert response.json() == {
        "detail": "Internal server error. Quote the request id when you report it.",
        "code": "server_error",
        "request_id": request_id,
    }
    (logged,) = errors_logged(caplog)
    assert logged.request_id == request_id
    assert logged.exc_info is not None
    assert "no_such_column" in logging.Formatter().formatException(logged.exc_info)


def test_the_service_log_line_names_the_request_id(anonymous, caplog):
    """The deployment's formatter (config.request_id.RequestIdFormatter) writes the id into the line."""
    from config.request_id import RequestIdFormatter

    with caplog.at_level(logging.ERROR, logger="dataxpipe.errors"):
        response = anonymous.get("/api/v1/_errors/broken-query")

    line = RequestIdFormatter("%(levelname)s [%(request_id)s] %(message)s").format(errors_logged(caplog)[0])
    assert line.startswith(f"ERROR [{response['X-Request-ID']}] unexpected database error in GET ")
    assert "Traceback" in line


def test_an_unreachable_database_is_a_503_retry_later(anonymous, caplog):
    response = anonymous.get("/api/v1/_errors/unreachable")

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"]
    assert not errors_logged(caplog)


@pytest.mark.postgres
def test_a_lost_connection_is_a_503(anonymous):
    response = anonymous.get("/api/v1/_errors/lost-connection")

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.postgres
def test_a_statement_timeout_on_a_live_database_is_a_logged_500_not_an_outage(anonymous, caplog):
    with caplog.at_level(logging.ERROR, logger="dataxpipe.errors"):
        response = anonymous.get("/api/v1/_errors/statement-timeout")

    assert response.status_code == 500, response.content
    assert response.json()["request_id"] == response["X-Request-ID"]
    assert len(errors_logged(caplog)) == 1


def test_a_bug_outside_the_database_is_a_json_500_with_the_request_id(anonymous, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = anonymous.get("/api/v1/_errors/crash")

    assert response.status_code == 500
    assert response.json()["request_id"] == response["X-Request-ID"]
    assert any(record.exc_info and record.exc_info[0] is RuntimeError for record in caplog.records)


def test_every_response_carries_a_request_id_and_a_clean_incoming_one_is_kept(anonymous):
    generated = anonymous.get("/health")
    kept = anonymous.get("/health", HTTP_X_REQUEST_ID="lb-7f3a9c21")
    forged = anonymous.get("/health", HTTP_X_REQUEST_ID="x\r\nERROR forged log line")

    assert len(generated["X-Request-ID"]) == 32
    assert kept["X-Request-ID"] == "lb-7f3a9c21"
    assert forged["X-Request-ID"] != "x\r\nERROR forged log line" and len(forged["X-Request-ID"]) == 32
    assert anonymous.get("/health")["X-Request-ID"] != generated["X-Request-ID"]


# --- Domain refusals: the same status codes and bodies as before the domain errors ------------------


@pytest.fixture
def example_spec():
    return copy.deepcopy(json.loads(EXAMPLE_SPEC.read_text()))


def test_a_finished_run_going_back_is_409_with_its_body(client_a, example_spec):
    assert client_a.post("/api/v1/pipelines", example_spec, format="json").status_code == 201
    run = {"pipeline_id": example_spec["name"], "run_id": "r1", "started_at": "2025-06-01T06:00:00Z"}
    assert client_a.post("/api/v1/runs", {**run, "status": "failed"}, format="json").status_code == 201

    response = client_a.post("/api/v1/runs", {**run, "status": "success"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Run 'r1' is already failed; it cannot become success.",
        "code": "run_finished",
        "status": "failed",
    }


def test_a_changed_version_is_409_with_both_hashes(client_a, example_spec):
    assert client_a.post("/api/v1/pipelines", example_spec, format="json").status_code == 201

    response = client_a.post("/api/v1/pipelines", {**example_spec, "description": "other"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"detail", "code", "registered_spec_hash", "posted_spec_hash"}
    assert body["code"] == "version_conflict" and body["registered_spec_hash"] != body["posted_spec_hash"]


def test_a_duplicate_connection_id_is_409(client_a):
    payload = {"id": "wh", "type": "sqlite", "config": {"path": "wh.sqlite3"}}
    assert client_a.post("/api/v1/connections", payload, format="json").status_code == 201

    response = client_a.post("/api/v1/connections", payload, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "A connection 'wh' already exists; PUT or PATCH it.", "code": "conflict"}


def test_the_plan_limit_is_402_with_limit_usage_and_upgrade(make_org, make_client, settings):
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], "api_keys": 1}}
    client = make_client(make_org("tiny", plan=Plan.FREE))

    response = client.post("/api/v1/api-keys/", {"name": "second"}, format="json")

    assert response.status_code == 402
    assert response.json() == {
        "detail": "The free plan allows 1 api keys; this organization has used 1. "
        "Upgrade with POST /api/v1/billing/checkout.",
        "code": "plan_limit_reached",
        "limit": "api_keys",
        "plan": "free",
        "allowed": 1,
        "usage": 1,
        "upgrade": "/api/v1/billing/checkout",
    }
