"""Celery tasks. A message carries only an execution id: the request and its secrets stay in the database."""

from celery import shared_task

from checks import dispatch
from checks.execution_services import reap_and_admit


@shared_task(name="checks.run_execution")
def run_check_execution(execution_id: str) -> None:
    dispatch.run_one(execution_id)


@shared_task(name="checks.reap_executions")
def reap_executions() -> int:
    return reap_and_admit()
