"""The operator admin: pages render, run history is never fully counted, connection secrets stay masked."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def catalog_a(org_a, register, example_spec):
    pipeline = register(org_a, example_spec).pipeline
    register(org_a, {**example_spec, "version": "4"})
    for index, status in enumerate(["success", "failed", "running", "queued"]):
        services.apply_run_event(organization=org_a, pipeline=pipeline, status=status, run_id=f"r{index}")
    services.create_connection(
        organization=org_a,
        connection_id="pg-prod",
        connection_type="postgres",
        config={"dsn": "postgresql://etl:adm1n-visible@db/orders", "user_secret": "env:DATAXPIPE_SECRET_ORG_A_PG_USER"},
    )
    return org_a


def test_pipeline_pages_show_current_version_latest_run_and_versions(staff_client, catalog_a):
    changelist = staff_client.get("/admin/catalog/pipeline/")
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "orders_sync" in page and ">4<" in page and "queued" in page
    pipeline = catalog_a.pipelines.get()
    detail = staff_client.get(f"/admin/catalog/pipeline/{pipeline.pk}/change/").content.decode()
    assert "chk_freshness" in detail  # the current spec
    versions = re.findall(r'<td class="field-version">\s*<p>([^<]+)</p>', detail)
    assert versions == ["4", "3"]  # versions inline, newest first


def test_run_list_filters_and_never_counts_the_whole_table(staff_client, catalog_a):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get("/admin/catalog/run/?status__exact=failed")
    assert response.status_code == 200
    page = response.content.decode()
    assert "r1" in page and "r0</a>" not in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "catalog_run" in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)
    for query in [
        "",
        f"?organization__id__exact={catalog_a.pk}",
        f"?created_at__year={Run.objects.unscoped().first().created_at.year}",
        f"?pipeline__id__exact={catalog_a.pipelines.get().pk}",
        "?q=r2",
    ]:
        assert staff_client.get(f"/admin/catalog/run/{query}").status_code == 200, query
    run = Run.objects.unscoped().get(run_id="r0")
    assert staff_client.get(f"/admin/catalog/run/{run.pk}/change/").status_code == 200


def test_cancel_action_goes_through_the_lifecycle(staff_client, catalog_a):
    ids = list(Run.objects.unscoped().values_list("pk", flat=True))
    response = staff_client.post(
        "/admin/catalog/run/", {"action": "cancel_selected", "_selected_action": ids}, follow=True
    )
    assert "Cancelled 2 run(s)." in response.content.decode()
    assert dict(Run.objects.unscoped().values_list("run_id", "status")) == {
        "r0": "success",
        "r1": "failed",
        "r2": "cancelled",
        "r3": "cancelled",
    }


def test_connection_pages_mask_the_dsn_password(staff_client, catalog_a):
    connection_row = catalog_a.connections.get()
    for path in ["/admin/catalog/connection/", f"/admin/catalog/connection/{connection_row.pk}/change/"]:
        response = staff_client.get(path)
        assert response.status_code == 200
        assert "adm1n-visible" not in response.content.decode()
    detail = staff_client.get(f"/admin/catalog/connection/{connection_row.pk}/change/").content.decode()
    assert "********" in detail and "env:DATAXPIPE_SECRET_ORG_A_PG_USER" in detail and "stored encrypted" in detail
