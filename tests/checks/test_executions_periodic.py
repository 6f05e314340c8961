"""The periodic pass (celery beat, or the embedded beat without a broker) over every organization's executions."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checks import execution_services
from checks.models import CheckExecution, ExecutionState


def _executions(organization, state, count, **fields):
    for _ in range(count):
        CheckExecution.objects.create(
            organization=organization,
            execution_id=execution_services.new_execution_id(),
            check_id="chk",
            state=state,
            **fields,
        )


@pytest.mark.django_db
def test_the_pass_reaps_once_and_reads_each_waiting_organization_once(org_a, org_b):
    # Each organization's one dispatch-ahead place is taken by a message no worker started yet: nothing is admitted.
    held = {"dispatched_at": timezone.now(), "lease_expires_at": timezone.now() + timedelta(minutes=10)}
    for organization, backlog in ((org_a, 40), (org_b, 3)):
        _executions(organization, ExecutionState.DISPATCHED, 1, **held)
        _executions(organization, ExecutionState.QUEUED, backlog)

    with CaptureQueriesContext(connection) as captured:
        assert execution_services.reap_and_admit() == 0

    queries = [query["sql"] for query in captured.captured_queries]
    # Admission's count of expired leases (under the organization's lock) is not a search for them.
    reaps = [sql for sql in queries if '"lease_expires_at" <' in sql and "COUNT(" not in sql]
    assert len(reaps) == 1, "expired leases are looked for once per pass, not again per organization"
    waiting = [sql for sql in queries if "DISTINCT" in sql and '"state" = ' in sql]
    assert len(waiting) == 1, queries
    assert CheckExecution.objects.unscoped().filter(state=ExecutionState.QUEUED).count() == 43
