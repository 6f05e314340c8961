"""Health, readiness, metrics, schema, throttling, and settings that fail loudly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from orgs.throttling import PrincipalRateThrottle

ROOT = Path(__file__).resolve().parents[2]


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with the project's settings and the given environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


READY_PROBE = """
import django, json, os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.test import Client
client = Client()
started = time.monotonic()
ready = client.get("/ready")
elapsed = time.monotonic() - started
health = client.get("/health")
print(json.dumps({"ready": ready.status_code, "ready_body": ready.json(), "health": health.status_code,
                  "elapsed": elapsed}))
"""


def test_health_needs_no_database(db):
    assert Client().get("/health").json() == {"status": "ok"}


def test_ready_checks_the_database(db):
    response = Client().get("/ready")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.postgres
def test_ready_probe_query_runs_under_its_statement_timeout(transactional_db):
    """In autocommit (as in production), a hung database must not hang the probe: its 2 s timeout holds."""
    from django.db import connection

    seen = []

    def spy(execute, sql, params, many, context):
        if sql == "SELECT 1":
            context["cursor"].execute("SHOW statement_timeout")
            seen.append(context["cursor"].fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert Client().get("/ready").status_code == 200
    assert seen == ["2s"]


def test_ready_is_503_with_a_reason_when_the_database_is_unreachable():
    # A real PostgreSQL URL pointing at a port where nothing listens.
    result = run_django(
        READY_PROBE,
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL="postgres://postgres@127.0.0.1:9/nowhere",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["ready"] == 503
    assert "database unreachable" in answer["ready_body"]["reason"]
    assert answer["health"] == 200


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_django(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_production_settings_refuse_to_start_without_allowed_hosts():
    result = run_django(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 50,
    )
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is required" in result.stderr


def test_metrics_expose_request_counters(db):
    client = Client()
    client.get("/health")
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_method_total" in body


def test_openapi_schema_and_docs_page(db):
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/organizations/me/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db
def test_each_key_has_its_own_request_budget(monkeypatch, org_a, make_client):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "3/min"})
    busy, quiet = make_client(org_a), make_client(org_a)
    statuses = [busy.get("/api/v1/organizations/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in busy.get("/api/v1/organizations/me")
    assert quiet.get("/api/v1/organizations/me").status_code == 200
