"""A Celery worker keeps its catalog connection from one task to the next, as a web process keeps it from one
request to the next (CONN_MAX_AGE): Celery's Django fix-up closed it around every task, so each check execution
paid a new PostgreSQL connection before it started (config/celery.py)."""

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from checks.tasks import run_check_execution
from config.celery import app


def _start_task_the_way_a_worker_does(task, fixup):
    # The worker's fix-up and our own handlers both listen to these signals; the fix-up is only installed in a
    # worker process, so it is called here directly with the same sender.
    fixup.on_task_prerun(sender=task)
    signals.task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})


def _end_task_the_way_a_worker_does(task, fixup):
    fixup.on_task_postrun(sender=task)
    signals.task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


@pytest.fixture
def worker_fixup():
    """Celery's Django fix-up as a worker installs it, with this test's catalog connection open."""
    # SQLite's test database lives in memory, where Django never closes the connection; CONN_MAX_AGE is 0 there.
    if connection.vendor != "postgresql" or not connection.settings_dict["CONN_MAX_AGE"]:
        pytest.skip("connections are kept only where CONN_MAX_AGE keeps them (PostgreSQL, 60 s)")
    connection.ensure_connection()
    return DjangoWorkerFixup(app)


@pytest.mark.django_db(transaction=True)
def test_a_worker_reuses_its_database_connection_across_tasks(worker_fixup):
    first = connection.connection
    for _ in range(3):
        _start_task_the_way_a_worker_does(run_check_execution, worker_fixup)
        connection.ensure_connection()  # the task's own queries
        _end_task_the_way_a_worker_does(run_check_execution, worker_fixup)
    assert connection.connection is first


@pytest.mark.django_db(transaction=True)
def test_a_worker_still_drops_a_connection_that_has_outlived_its_age(worker_fixup):
    connection.close_at = 0  # past CONN_MAX_AGE: close_old_connections must close it after the task
    _end_task_the_way_a_worker_does(run_check_execution, worker_fixup)
    assert connection.connection is None
