"""Retention next to live ingestion, on PostgreSQL: a row another transaction holds is left for the next
pass instead of waited for, and run events keep being accepted while a purge runs."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from catalog.models import Run
from orgs.models import Plan
from tests.catalog.conftest import small_spec
from tests.workflows.test_retention import History, exists
from workflows import pipeline_spec, retention
from workflows.registration import register_pipeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_connection():
    params = connection.settings_dict
    return psycopg.connect(dbname=params["NAME"], user=params["USER"], host=params["HOST"], port=params["PORT"] or 5432)


def test_a_run_a_concurrent_request_holds_is_skipped_not_waited_for(make_org):
    history = History(make_org("acme", plan=Plan.FREE))
    old = datetime.now(UTC) - timedelta(days=60)
    held, other = history.run(old), history.run(old)

    with other_connection() as ingestion:
        # The lock a transaction inserting a check result of this run takes on it (the foreign-key check).
        ingestion.execute("SELECT 1 FROM catalog_run WHERE id = %s FOR KEY SHARE", [held.pk])
        outcome = retention.purge_organization(history.organization, pause_seconds=0)
        assert outcome.counts["runs"] == 1
        assert (exists(held), exists(other)) == (True, False)
        ingestion.rollback()

    assert retention.purge_organization(history.organization, pause_seconds=0).counts["runs"] == 1
    assert not exists(held)


def test_run_events_are_accepted_while_a_purge_runs(make_org, make_key):
    organization = make_org("acme", plan=Plan.FREE)
    register_pipeline(organization=organization, spec=pipeline_spec.parse(small_spec("orders_sync")))
    history = History(organization)
    old = datetime.now(UTC) - timedelta(days=60)
    for _ in range(300):
        history.run(old)
    key = make_key(organization)
    statuses, outcome = [], {}
    started = threading.Barrier(2)

    def purge():
        try:
            started.wait()
            outcome["runs"] = retention.purge_organization(organization, batch_rows=20, pause_seconds=0.005)
        finally:
            connections.close_all()

    def ingest():
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            started.wait()
            for index in range(20):
                body = {"pipeline_id": "orders_sync", "run_id": f"live-{index}", "status": "running"}
                statuses.append(client.post("/api/v1/runs/", body, format="json").status_code)
                body["status"] = "success"
                statuses.append(client.post("/api/v1/runs/", body, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=purge), threading.Thread(target=ingest)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [201, 200] * 20
    assert outcome["runs"].counts["runs"] == 300
    assert Run.objects.unscoped().filter(organization=organization, run_id__startswith="live-").count() == 20
