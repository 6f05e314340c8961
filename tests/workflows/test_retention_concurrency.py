"""Retention next to live ingestion, on PostgreSQL: a row another transaction holds is left for the next
pass instead of waited for, and run events keep being accepted while a purge runs."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from catalog.models import Run
from checks import selectors as checks_selectors
from checks.models import CheckResult
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


# --- A check result posted for a run the purge deletes meanwhile ---------------------------------------------


def purge_in_another_connection(organization) -> retention.PurgeOutcome:
    """One purge pass in a thread of its own (its own database connection), finished before this returns."""
    outcome = {}

    def purge():
        try:
            outcome["purge"] = retention.purge_organization(organization, pause_seconds=0)
        finally:
            connections.close_all()

    thread = threading.Thread(target=purge)
    thread.start()
    thread.join()
    return outcome["purge"]


def post_result(client, run_id):
    return client.post(
        "/api/v1/checks/results/", {"check_id": "adhoc", "violations": 0, "run_id": run_id}, format="json"
    )


def test_a_purge_while_a_result_is_being_attached_leaves_the_run_for_the_next_pass(make_org, make_client, monkeypatch):
    history = History(make_org("acme", plan=Plan.FREE))
    old_run = history.run(datetime.now(UTC) - timedelta(days=60))
    insert = CheckResult.save
    purges = []

    def purge_then_insert(result, *args, **kwargs):
        purges.append(purge_in_another_connection(history.organization))
        return insert(result, *args, **kwargs)

    monkeypatch.setattr(CheckResult, "save", purge_then_insert)
    response = post_result(make_client(history.organization), old_run.run_id)

    assert response.status_code == 201, response.content
    assert purges[0].counts["runs"] == 0
    assert CheckResult.objects.unscoped().get(result_id=response.json()["result_id"]).run_id == old_run.pk
    monkeypatch.undo()
    # The next pass purges it; the result, recent, stays without its run.
    assert retention.purge_organization(history.organization, pause_seconds=0).counts["runs"] == 1
    assert CheckResult.objects.unscoped().get(result_id=response.json()["result_id"]).run_id is None


def test_a_run_purged_between_the_lookup_and_the_insert_is_the_400_of_an_unknown_run(
    make_org, make_client, monkeypatch
):
    history = History(make_org("acme", plan=Plan.FREE))
    old_run = history.run(datetime.now(UTC) - timedelta(days=60))
    look_up = checks_selectors.find_run

    def look_up_then_purge(organization, run_id):
        run = look_up(organization, run_id)
        assert purge_in_another_connection(history.organization).counts["runs"] == 1
        return run

    monkeypatch.setattr(checks_selectors, "find_run", look_up_then_purge)
    client = make_client(history.organization)
    client.raise_request_exception = False
    response = post_result(client, old_run.run_id)

    assert response.status_code == 400, response.content
    assert f"No run {old_run.run_id!r} in this organization." in str(response.json())
    assert not CheckResult.objects.unscoped().filter(organization=history.organization).exists()


def test_a_run_purged_between_an_insert_conflict_and_its_lookup_is_created_anew(make_org, monkeypatch):
    """apply_run_event: the insert finds the run (a conflict), retention deletes it before the locking
    lookup; the event creates it again instead of failing on a run that is not there."""
    from catalog import services as catalog_services

    organization = make_org("acme", plan=Plan.FREE)
    pipeline = register_pipeline(organization=organization, spec=pipeline_spec.parse(small_spec("orders_sync")))
    pipeline = getattr(pipeline, "pipeline", pipeline)
    catalog_services.apply_run_event(organization=organization, pipeline=pipeline, status="running", run_id="r1")
    real_insert = catalog_services.insert_unless_conflict
    purged = []

    def conflict_then_purge(instance, conflict_columns=()):
        if not purged:
            purged.append(Run.objects.unscoped().filter(organization=organization, run_id="r1").delete())
            return False  # what the insert saw: the run was there
        return real_insert(instance, conflict_columns)

    monkeypatch.setattr(catalog_services, "insert_unless_conflict", conflict_then_purge)

    outcome = catalog_services.apply_run_event(
        organization=organization, pipeline=pipeline, status="running", run_id="r1"
    )

    assert purged and outcome.created
    assert Run.objects.unscoped().filter(organization=organization, run_id="r1").count() == 1


def test_an_openlineage_event_whose_run_was_just_purged_attaches_its_results_to_the_run_made_anew(
    make_org, make_key, monkeypatch
):
    """An OTHER event finds its run, which retention deletes before the event's check results attach to it:
    the run is created again and the results attach to it (the stale row refused them)."""
    from workflows import openlineage

    organization = make_org("acme", plan=Plan.FREE)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_key(organization))

    def event(event_type, facets):
        return {
            "eventType": event_type,
            "eventTime": "2026-11-26T06:00:00Z",
            "producer": "https://example.com/gx",
            "run": {"runId": "ol-1"},
            "job": {"namespace": "gx", "name": "nightly_checks"},
            "inputs": [{"namespace": "wh", "name": "raw.orders", "inputFacets": facets}],
        }

    assertions = {"dataQualityAssertions": {"assertions": [{"assertion": "not_null", "success": True}]}}
    assert client.post("/api/v1/lineage", event("START", {}), format="json").status_code == 201
    stale = Run.objects.unscoped().get(organization=organization, run_id="ol-1")
    Run.objects.unscoped().filter(pk=stale.pk).delete()
    monkeypatch.setattr(openlineage.catalog_selectors, "run_in_organization", lambda organization, run_id: stale)

    response = client.post("/api/v1/lineage", event("OTHER", assertions), format="json")

    assert response.status_code == 201, response.content
    run = Run.objects.unscoped().get(organization=organization, run_id="ol-1")
    assert run.pk != stale.pk
    assert CheckResult.objects.unscoped().filter(organization=organization, run=run).exists()
