"""Celery tasks: the periodic detection and delivery pass, and one delivery attempt per message."""

from celery import shared_task

from alerts import services, sweep


@shared_task(name="alerts.sweep")
def sweep_alerts() -> int:
    return sweep.run().proposed


# Retries: each attempt is recorded by attempt_delivery, which also says when the next one is due
# (30 s, 1, 2, 4 min); the budget lives in the database (MAX_ATTEMPTS), so Celery's own limit is only a backstop.
@shared_task(name="alerts.deliver", bind=True, max_retries=services.MAX_ATTEMPTS)
def deliver_alert(self, alert_id: int) -> bool:
    outcome = services.attempt_delivery(alert_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.delivered
