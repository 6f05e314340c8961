"""The Runs list's "cancel" action during an incident: "select all" cancels every pending run the user may
see, through the run state machine, a batch per transaction, within the user's organizations only."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection

from catalog.models import Run, RunStatus
from console.admin import catalog as catalog_admin
from tests.console.members import member_client
from tests.lineage.factories import make_pipeline

pytestmark = pytest.mark.django_db
CANCELLED_LOG = "Cancelled from the operator console."


def org_operator(client, organization):
    return member_client(client, organization, ["view_run", "change_run"], username="oncall")


def pending_runs(organization, pipeline_name, count):
    pipeline = make_pipeline(organization, pipeline_name)
    return Run.objects.bulk_create(
        Run(
            organization=organization,
            pipeline=pipeline,
            run_id=f"{pipeline_name}-{i:05}",
            status=RunStatus.RUNNING if i % 2 else RunStatus.QUEUED,
        )
        for i in range(count)
    )


def test_select_all_cancels_every_pending_run_of_the_users_organizations_past_a_batch(client, org_a, org_b):
    # One more than a batch: the action once stopped, silently, after the first 1,000.
    mine = pending_runs(org_a, "a_ingest", catalog_admin.CANCEL_BATCH + 1)
    finished = Run.objects.create(organization=org_a, pipeline=mine[0].pipeline, run_id="a-done", status="success")
    theirs = pending_runs(org_b, "b_ingest", 1)[0]
    operator = org_operator(client, org_a)
    every = {"action": "cancel_selected", "_selected_action": [mine[0].pk], "select_across": "1"}

    statements = []
    # A wrapper, not CaptureQueriesContext: Django keeps only the last 9,000 queries it logs.
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        response = operator.post("/admin/catalog/run/", every)
    assert response.status_code == 302
    assert f"Cancelled {len(mine)} run(s)." in operator.get(response.url).content.decode()

    statuses = Run.objects.for_organization(org_a).values_list("status", flat=True)
    assert set(statuses.exclude(pk=finished.pk)) == {RunStatus.CANCELLED}
    assert Run.objects.unscoped().get(pk=finished.pk).status == RunStatus.SUCCESS
    assert Run.objects.unscoped().get(pk=theirs.pk).status == theirs.status  # another organization's
    last = Run.objects.unscoped().get(pk=mine[-1].pk)
    assert last.finished_at is not None and last.attributes == {"cancelled_by": "oncall"}
    history = LogEntry.objects.filter(change_message=CANCELLED_LOG)
    assert history.count() == len(mine) and history.filter(object_repr=mine[-1].run_id).exists()

    # The state machine's cost per run: its savepoint, the conditional UPDATE, the release. Beyond that, a
    # few queries per batch (its keys, organizations, pipelines, history), never one per run.
    updates = [sql for sql in statements if sql.lstrip().startswith("UPDATE catalog_run")]
    assert len(updates) == len(mine)
    assert len(statements) <= 3 * len(mine) + 30, len(statements)


def test_cancel_without_select_all_cancels_the_checked_runs_of_the_users_organizations_only(client, org_a, org_b):
    mine = pending_runs(org_a, "a_ingest", 3)
    theirs = pending_runs(org_b, "b_ingest", 1)[0]
    operator = org_operator(client, org_a)
    checked = [mine[0].pk, mine[1].pk, theirs.pk]
    response = operator.post(
        "/admin/catalog/run/", {"action": "cancel_selected", "_selected_action": checked}, follow=True
    )
    assert "Cancelled 2 run(s)." in response.content.decode()
    statuses = dict(Run.objects.unscoped().values_list("run_id", "status"))
    assert statuses == {
        mine[0].run_id: RunStatus.CANCELLED,
        mine[1].run_id: RunStatus.CANCELLED,
        mine[2].run_id: mine[2].status,
        theirs.run_id: theirs.status,
    }
    page = operator.get(f"/admin/catalog/run/{mine[0].pk}/history/").content.decode()
    assert CANCELLED_LOG in page
