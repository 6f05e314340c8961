"""catalog.demo.seed, as `manage.py seed_demo` calls it: a usable demo, and idempotent."""

import io

import pytest
from django.core.management import call_command

from catalog.models import Connection, Pipeline, Run
from checks.models import CheckDefinition
from lineage.models import LineageEdge

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_gives_the_same_catalog():
    call_command("seed_demo", stdout=io.StringIO())
    snapshot = (
        sorted(Pipeline.objects.values_list("name", "current_version__version")),
        sorted(Connection.objects.values_list("connection_id", "type")),
        sorted(Run.objects.values_list("run_id", "status")),
        CheckDefinition.objects.count(),
        LineageEdge.objects.count(),
    )
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot == (
        sorted(Pipeline.objects.values_list("name", "current_version__version")),
        sorted(Connection.objects.values_list("connection_id", "type")),
        sorted(Run.objects.values_list("run_id", "status")),
        CheckDefinition.objects.count(),
        LineageEdge.objects.count(),
    )
    pipelines, connections, runs, checks, _ = snapshot
    assert ("orders_sync", "3") in pipelines and len(pipelines) == 3
    assert connections == [("bq-prod", "bigquery"), ("pg-prod", "postgres")]
    assert {status for _, status in runs} == {"success", "failed", "cancelled", "running", "queued"}
    assert checks == 5


def test_demo_is_browsable_through_the_api(make_client):
    call_command("seed_demo", stdout=io.StringIO())
    from orgs.models import Organization

    client = make_client(Organization.objects.get(slug="demo"))
    detail = client.get("/api/v1/pipelines/orders_sync").json()
    assert detail["latest_run_status"] == "running"
    history = client.get("/api/v1/pipelines/orders_sync/runs").json()["results"]
    assert history[0]["status"] == "running" and len(history) == 13
    pg = client.get("/api/v1/connections/pg-prod").json()
    assert pg["config"]["password_secret"] == "env:PG_PROD_PASSWORD"
