"""The Airflow callbacks with a fake context (no Airflow installed), posting to the live catalog."""

from types import SimpleNamespace

import pytest
from dataxpipe import Client
from dataxpipe.airflow import CatalogCallbacks, catalog_run_id


def fake_context(run_id: str, task_id: str | None = None, exception: Exception | None = None) -> dict:
    """The keys of Airflow's callback context the helpers read."""
    context = {"dag": SimpleNamespace(dag_id="client_orders"), "run_id": run_id}
    if task_id:
        context["task_instance"] = SimpleNamespace(task_id=task_id)
    if exception is not None:
        context["exception"] = exception
    return context


@pytest.fixture
def client(live):
    return Client(live.url, live.api_key, 10)


def test_run_id_convention():
    context = {"dag_run": SimpleNamespace(dag_id="orders_sync"), "run_id": "scheduled__2026-01-01T06:00:00+00:00"}
    assert catalog_run_id(context) == "orders_sync__scheduled__2026-01-01T06:00:00+00:00"


def test_a_successful_dag_run(client):
    callbacks = CatalogCallbacks(client=client)
    airflow_run = "scheduled__2026-01-01T06:00:00+00:00"
    callbacks.on_task_execute(fake_context(airflow_run, "extract"))
    callbacks.on_task_success(fake_context(airflow_run, "extract"))
    callbacks.on_task_execute(fake_context(airflow_run, "load"))  # a second task: the same catalog run
    callbacks.on_task_success(fake_context(airflow_run, "load"))
    callbacks.on_dag_success(fake_context(airflow_run))
    run = client.get_run(f"client_orders__{airflow_run}")
    assert run["status"] == "success" and run["started_at"] and run["finished_at"]
    assert run["attributes"]["airflow_task.extract"] == "success"
    assert run["attributes"]["airflow_task.load"] == "success"
    runs = client.pipeline_runs("client_orders")["results"]
    assert [r["run_id"] for r in runs].count(f"client_orders__{airflow_run}") == 1


def test_a_failed_task_fails_the_run_and_says_why(client):
    callbacks = CatalogCallbacks(client=client)
    airflow_run = "manual__2026-01-02T08:00:00+00:00"
    callbacks.on_task_execute(fake_context(airflow_run, "transform"))
    callbacks.on_task_failure(fake_context(airflow_run, "transform", RuntimeError("duplicate key in clean_orders")))
    callbacks.on_dag_failure(fake_context(airflow_run))  # Airflow calls both; the second is a replay
    run = client.get_run(f"client_orders__{airflow_run}")
    assert run["status"] == "failed"
    assert run["attributes"]["airflow_task.transform"] == "failed"
    assert run["attributes"]["error"] == "RuntimeError: duplicate key in clean_orders"


def test_callbacks_for_a_dag_definition(live, monkeypatch):
    monkeypatch.setenv("DATAXPIPE_URL", live.url)
    monkeypatch.setenv("DATAXPIPE_API_KEY", live.api_key)
    callbacks = CatalogCallbacks(pipeline="client_orders")  # the client is built from the environment
    assert set(callbacks.task_callbacks()) == {"on_execute_callback", "on_success_callback", "on_failure_callback"}
    dag_callbacks = callbacks.dag_callbacks()
    context = {"dag": SimpleNamespace(dag_id="client_orders_dag_v2"), "run_id": "manual__env"}
    assert dag_callbacks["on_failure_callback"](context)["run_id"] == "client_orders_dag_v2__manual__env"
