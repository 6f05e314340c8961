"""Airflow callbacks that post run events, without importing Airflow.

A DAG run is the catalog run `<dag_id>__<run_id>` of the pipeline named like the DAG (generated DAGs
carry the pipeline's name), so every callback of one DAG run lands on the same run whatever the order
or the number of retries. A callback never raises: an unreachable catalog must not fail the DAG.

    from dataxpipe.airflow import CatalogCallbacks
    catalog = CatalogCallbacks()             # DATAXPIPE_URL / DATAXPIPE_API_KEY from the environment
    DAG(..., default_args=catalog.task_callbacks(), **catalog.dag_callbacks())
"""

import logging

from dataxpipe.client import Client, now_iso
from dataxpipe.errors import DataXPipeError

logger = logging.getLogger("dataxpipe.airflow")
MAX_ERROR_CHARS = 1000


def catalog_run_id(context) -> str:
    return f"{_dag_id(context)}__{context['run_id']}"


def _dag_id(context) -> str:
    dag = context.get("dag")
    if dag is not None:
        return dag.dag_id
    return context["dag_run"].dag_id


def _task_id(context) -> str | None:
    instance = context.get("task_instance") or context.get("ti")
    return getattr(instance, "task_id", None)


class CatalogCallbacks:
    def __init__(self, pipeline: str | None = None, client: Client | None = None):
        self.pipeline = pipeline
        self._client = client

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client.from_env()
        return self._client

    def _post(self, context, status: str, **fields) -> dict | None:
        run_id = catalog_run_id(context)
        try:
            return self.client.run_event(self.pipeline or _dag_id(context), status, run_id, **fields)
        except DataXPipeError as error:
            logger.warning("DataXPipe: could not record %s for run %s: %s", status, run_id, error)
            return None

    def _attributes(self, context, outcome: str) -> dict:
        task = _task_id(context)
        attributes = {"airflow_dag_id": _dag_id(context), "airflow_run_id": context["run_id"]}
        if task:
            attributes[f"airflow_task.{task}"] = outcome
        exception = context.get("exception")
        if exception is not None:
            attributes["error"] = f"{type(exception).__name__}: {exception}"[:MAX_ERROR_CHARS]
        return attributes

    # Task callbacks: a task starting or succeeding keeps the run running; a task failing (after its
    # retries: Airflow calls on_retry_callback before that) fails the run.
    def on_task_execute(self, context):
        return self._post(context, "running", started_at=now_iso(), attributes=self._attributes(context, "running"))

    def on_task_success(self, context):
        return self._post(context, "running", started_at=now_iso(), attributes=self._attributes(context, "success"))

    def on_task_failure(self, context):
        return self._post(context, "failed", finished_at=now_iso(), attributes=self._attributes(context, "failed"))

    def on_dag_success(self, context):
        return self._post(context, "success", finished_at=now_iso(), attributes=self._attributes(context, "success"))

    def on_dag_failure(self, context):
        return self._post(context, "failed", finished_at=now_iso(), attributes=self._attributes(context, "failed"))

    def task_callbacks(self) -> dict:
        """For a DAG's default_args."""
        return {
            "on_execute_callback": self.on_task_execute,
            "on_success_callback": self.on_task_success,
            "on_failure_callback": self.on_task_failure,
        }

    def dag_callbacks(self) -> dict:
        """For DAG(...) itself."""
        return {"on_success_callback": self.on_dag_success, "on_failure_callback": self.on_dag_failure}


_default = CatalogCallbacks()
on_task_execute = _default.on_task_execute
on_task_success = _default.on_task_success
on_task_failure = _default.on_task_failure
on_dag_success = _default.on_dag_success
on_dag_failure = _default.on_dag_failure
