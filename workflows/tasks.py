"""Celery tasks of the work that spans apps. Beat runs them (CELERY_BEAT_SCHEDULE in config/settings.py)."""

from celery import shared_task

from workflows import retention


@shared_task(name="workflows.purge_history")
def purge_history() -> int:
    """Purges every organization's history past its plan window; returns the rows purged."""
    return sum(outcome.total for outcome in retention.purge_history())
