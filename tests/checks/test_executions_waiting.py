"""Requests that wait for their execution: a tenant asking for long waits cannot take every thread of a web
process (CHECK_EXECUTION_MAX_WAITERS; past it a request answers 202 at once)."""

import threading
import time

import pytest
from django.conf import settings
from django.db import connections

from checks import execution_services
from checks.models import CheckExecution, ExecutionState

# The waiting threads read the execution on their own connections: its row must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_past_max_waiters_a_request_stops_waiting_at_once(org_a):
    # Queued and never admitted here (no send): it stays unfinished for as long as anyone waits.
    execution = CheckExecution.objects.create(
        organization=org_a, execution_id=execution_services.new_execution_id(), check_id="chk"
    )
    waiting = threading.Barrier(settings.CHECK_EXECUTION_MAX_WAITERS + 1)

    def wait():
        try:
            waiting.wait()
            execution_services.wait_until_finished(execution, 3)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wait) for _ in range(settings.CHECK_EXECUTION_MAX_WAITERS)]
    for thread in threads:
        thread.start()
    waiting.wait()
    time.sleep(0.3)  # the others hold every waiting place now

    started = time.monotonic()
    answered = execution_services.wait_until_finished(execution, 3)
    assert time.monotonic() - started < 1, "a request past the waiters' limit must not wait"
    assert answered.state == ExecutionState.QUEUED
    for thread in threads:
        thread.join()


@pytest.mark.parametrize(
    "hostile",
    [
        'exe-00000000000000000000"; NOTIFY "dxp_other',
        "exe-00000000000000000000; DROP TABLE checks_checkexecution",
        "exe-ABCDEF0123456789ABCD",
        "exe-" + "0" * 200,
    ],
)
def test_only_an_execution_id_the_service_made_names_a_listen_channel(hostile):
    # The channel is an identifier spliced into the LISTEN statement: nothing else may reach it.
    assert execution_services.EXECUTION_ID.fullmatch(execution_services.new_execution_id())
    with pytest.raises(ValueError, match="not an execution id"):
        execution_services._listen(hostile)
