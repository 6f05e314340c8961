"""What operators see of check executions: /metrics (queue depth, states, latency) and the console page."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checks import execution_services
from checks.models import CheckExecution
from orgs import services
from tests.checks.factories import make_connection

pytestmark = pytest.mark.django_db


def make_execution(organization, n, state, latency_ms=None):
    now = timezone.now()
    return CheckExecution.objects.create(
        organization=organization,
        execution_id=f"exe-{organization.slug.replace('-', '')}{n:04x}",
        check_id=f"chk-{n}",
        connection_id="pg",
        request={"check_id": f"chk-{n}", "connection_id": "pg", "sql": "SELECT 0"},
        state=state,
        created_at=now - timedelta(seconds=30 - n),
        started_at=now if state in ("running", "done", "error") else None,
        finished_at=now if state in ("done", "error") else None,
        latency_ms=latency_ms,
    )


@pytest.fixture
def executions(org_a, org_b):
    rows = [
        make_execution(org_a, 1, "queued"),
        make_execution(org_a, 2, "queued"),
        make_execution(org_a, 3, "dispatched"),
        make_execution(org_a, 4, "running"),
        make_execution(org_a, 5, "done", latency_ms=40),
        make_execution(org_b, 6, "done", latency_ms=1500),
        make_execution(org_b, 7, "error", latency_ms=400_000),
        make_execution(org_b, 8, "running"),
    ]
    return {row.check_id: row for row in rows}


def metric_lines(client) -> set[str]:
    return set(client.get("/metrics").content.decode().splitlines())


def test_metrics_show_queue_depth_and_active_states(client, executions):
    lines = metric_lines(client)
    assert "dataxpipe_check_execution_queue_depth 3.0" in lines
    for state, count in [("queued", 2), ("dispatched", 1), ("running", 2)]:
        assert f'dataxpipe_check_executions{{state="{state}"}} {count}.0' in lines


def test_metrics_count_executions_as_they_finish_with_their_latency(client, client_a, org_a, sqlite_warehouse):
    make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})
    for n in range(2):
        body = {"connection_id": "shop", "check_id": f"chk-{n}", "sql": "SELECT 0", "wait_seconds": 5}
        assert client_a.post("/api/v1/checks/execute", body, format="json").status_code == 201
    lost = make_execution(org_a, 9, "running")
    CheckExecution.objects.unscoped().filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(seconds=400), lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert execution_services.reap_and_admit() == 1  # a lost worker's execution ends as an error

    lines = metric_lines(client)
    assert 'dataxpipe_check_executions{state="done"} 2.0' in lines
    assert 'dataxpipe_check_executions{state="error"} 1.0' in lines
    assert 'dataxpipe_check_execution_latency_seconds_bucket{le="300"} 2.0' in lines
    assert 'dataxpipe_check_execution_latency_seconds_bucket{le="600"} 3.0' in lines
    assert 'dataxpipe_check_execution_latency_seconds_bucket{le="+Inf"} 3.0' in lines
    assert "dataxpipe_check_execution_latency_seconds_count 3.0" in lines
    total = next(line for line in lines if line.startswith("dataxpipe_check_execution_latency_seconds_sum "))
    assert 400 <= float(total.split()[1]) < 420


def test_a_scrape_reads_no_finished_execution_however_long_the_history(client, org_a, executions):
    # A year of history: finished executions are counted when they finish, never read again by a scrape.
    CheckExecution.objects.bulk_create(
        CheckExecution(organization=org_a, execution_id=f"exe-{n:020x}", check_id="old", state="done", latency_ms=5)
        for n in range(300)
    )
    with CaptureQueriesContext(connection) as captured:
        lines = metric_lines(client)
    assert "dataxpipe_check_execution_queue_depth 3.0" in lines
    on_executions = [q["sql"] for q in captured.captured_queries if '"checks_checkexecution"' in q["sql"]]
    assert len(on_executions) == 1, on_executions
    assert "\"state\" IN ('queued', 'dispatched', 'running')" in on_executions[0]
    assert "latency_ms" not in on_executions[0]
    on_buckets = [q["sql"] for q in captured.captured_queries if '"checks_executionlatencybucket"' in q["sql"]]
    assert len(on_buckets) == 1


def test_metrics_name_no_organization(client, executions):
    body = client.get("/metrics").content.decode()
    assert "org-a" not in body and "org-b" not in body


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    return client


def test_the_console_opens_on_queued_and_running_executions_oldest_first(staff_client, executions):
    page = staff_client.get("/admin/checks/checkexecution/").content.decode()
    shown = [check for check in ("chk-1", "chk-2", "chk-3", "chk-4", "chk-8") if f">{check}<" in page]
    assert shown == ["chk-1", "chk-2", "chk-3", "chk-4", "chk-8"]
    assert ">chk-5<" not in page and ">chk-7<" not in page
    assert page.index(">chk-1<") < page.index(">chk-4<") < page.index(">chk-8<")

    finished = staff_client.get("/admin/checks/checkexecution/?state=done").content.decode()
    assert ">chk-5<" in finished and ">chk-1<" not in finished
    detail = staff_client.get(f"/admin/checks/checkexecution/{executions['chk-4'].pk}/change/")
    assert detail.status_code == 200
    assert "Save" not in detail.content.decode()


def test_an_organization_user_sees_only_their_executions(client, org_a, executions):
    user = get_user_model().objects.create_user("alice", "alice@a.example", "pw-for-tests-only", is_staff=True)
    services.add_member(organization=org_a, user=user)
    user.user_permissions.set(Permission.objects.filter(codename="view_checkexecution"))
    client.force_login(user)
    page = client.get("/admin/checks/checkexecution/").content.decode()
    assert ">chk-1<" in page and ">chk-8<" not in page
    other = client.get(f"/admin/checks/checkexecution/{executions['chk-8'].pk}/change/")
    assert other.status_code == 404
