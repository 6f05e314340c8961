"""workflows.demo.catalog.seed, as `manage.py seed_demo` calls it: a usable demo, and idempotent."""

import io

import pytest
from django.core.management import call_command

from catalog.models import Connection, Pipeline, Run
from checks.models import CheckDefinition
from lineage.models import LineageEdge
from orgs.models import Organization
from workflows.demo import catalog as demo

pytestmark = pytest.mark.django_db


def snapshot(organization):
    return (
        sorted(
            Pipeline.objects.unscoped()
            .filter(organization=organization)
            .values_list("name", "current_version__version")
        ),
        sorted(Connection.objects.unscoped().filter(organization=organization).values_list("connection_id", "type")),
        sorted(Run.objects.unscoped().filter(organization=organization).values_list("run_id", "status")),
        CheckDefinition.objects.unscoped().filter(organization=organization).count(),
        LineageEdge.objects.unscoped().filter(organization=organization).count(),
    )


def test_seeding_twice_gives_the_same_catalog(org_a):
    demo.seed(org_a, io.StringIO())
    first = snapshot(org_a)
    output = io.StringIO()
    demo.seed(org_a, output)
    assert snapshot(org_a) == first
    assert "0 new runs" in output.getvalue()
    pipelines, connections, runs, checks, edges = first
    assert pipelines == [("customers_snapshot", "1"), ("orders_sync", "3"), ("revenue_report", "2")]
    assert connections == [("bq-prod", "bigquery"), ("pg-prod", "postgres")]
    assert {status for _, status in runs} == {"success", "failed", "cancelled", "running", "queued"}
    assert (checks, edges) == (5, 5)


def test_seed_demo_command_twice_and_the_demo_is_browsable(make_client):
    call_command("seed_demo", stdout=io.StringIO())
    organization = Organization.objects.get(slug="demo")
    runs = Run.objects.unscoped().filter(organization=organization).count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Run.objects.unscoped().filter(organization=organization).count() == runs

    client = make_client(organization)
    detail = client.get("/api/v1/pipelines/orders_sync").json()
    assert detail["version"] == "3" and detail["latest_run_status"] == "running"
    history = client.get("/api/v1/pipelines/orders_sync/runs").json()["results"]
    assert history[0]["status"] == "running" and len(history) == 13
    pg = client.get("/api/v1/connections/pg-prod").json()
    assert pg["config"]["password_secret"] == "env:DATAXPIPE_SECRET_DEMO_PG_PROD_PASSWORD"
