"""The periodic pass: detect, then send what is due.

With workers (CHECK_EXECUTION_BACKEND=celery) each due alert becomes one `alerts.deliver` message; a worker
makes the attempt and schedules its retry itself (Celery countdown, exponential backoff). The sweep sends a
message again only when the previous one looks lost. Without workers (the embedded mode and the test suite)
the sweep makes the attempts itself, in its own thread, a bounded number per pass.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from alerts import detection, services
from checks import dispatch

# Alerts handed to the workers per pass; attempts made in this thread per pass without workers.
DISPATCH_BATCH = 500
INLINE_BATCH = 20
# A message for an attempt not made within this is taken as lost and sent again (the claim stops doubles).
REDISPATCH_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class SweepResult:
    proposed: int
    dispatched: int
    attempted: int


def uses_workers() -> bool:
    return settings.CHECK_EXECUTION_BACKEND == "celery"


def run(now=None) -> SweepResult:
    now = now or timezone.now()
    proposed = detection.detect(now)
    if uses_workers():
        return SweepResult(proposed, _dispatch(now), 0)
    attempted = 0
    for alert_id in services.due_alert_ids(now, INLINE_BATCH):
        attempted += services.attempt_delivery(alert_id, now).attempted
    return SweepResult(proposed, 0, attempted)


def _dispatch(now) -> int:
    from alerts.tasks import deliver_alert

    sent = []
    for alert_id in services.due_alert_ids(now, DISPATCH_BATCH, redispatch_after=REDISPATCH_AFTER):
        if not dispatch.publish(deliver_alert, alert_id, "alert"):
            break  # the broker is down: the next pass sends the rest
        sent.append(alert_id)
    services.mark_dispatched(sent, now)
    return len(sent)
