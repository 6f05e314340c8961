"""Delivery by a real `celery -A config worker` through RabbitMQ: the sweep sends one message per alert, the
worker attempts, records, and retries itself with backoff (1 s here) until the receiver accepts.
Skipped, with the reason, only when RabbitMQ does not answer on 127.0.0.1:5672 (CI starts it)."""

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from alerts import sweep
from alerts.models import Alert, AlertState, DeliveryAttempt
from tests.alerts.conftest import documented_verifier
from tests.checks import test_executions_broker as broker_tests

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.broker,
    pytest.mark.xdist_group("broker"),
    pytest.mark.skipif(not broker_tests._answers(5672), reason="needs RabbitMQ on 127.0.0.1:5672 (.ci/run starts it)"),
]

# The broker, its per-test queue and the worker processes of the check-execution tests.
broker_url = broker_tests.broker_url
queue_name = broker_tests.queue_name
broker = broker_tests.broker
start_worker = broker_tests.start_worker


def queue_exists(url, name) -> bool:
    with Connection(url, connect_timeout=3) as connection:
        try:
            connection.default_channel.queue_declare(name, passive=True)
        except ChannelError:
            return False
    return True


@pytest.mark.usefixtures("broker", "loopback_allowed")
def test_a_worker_delivers_and_retries_with_backoff(
    start_worker, broker_url, queue_name, admin_client, org_a, make_sink, pipeline_of, fail_run
):
    sink = make_sink(statuses=[503, 200])
    rule = admin_client(org_a).post(
        "/api/v1/alerts/",
        {"name": "hook", "events": ["run_failed"], "destination": {"type": "webhook", "url": sink.url}},
        format="json",
    )
    secret = rule.json()["signing_secret"]
    fail_run(org_a, pipeline_of(org_a), "run-1")
    # The worker is its own process: it opens loopback for the sink from its environment, like a deployment.
    start_worker(DATAXPIPE_ALERT_RETRY_BASE_SECONDS=1, DATAXPIPE_ALERT_ALLOWED_NETWORKS="127.0.0.0/8")
    broker_tests.wait_for(lambda: queue_exists(broker_url, queue_name), seconds=60)  # the worker consumes

    result = sweep.run()
    assert (result.proposed, result.dispatched, result.attempted) == (1, 1, 0)
    assert sweep.run().dispatched == 0  # the message is at the workers: not sent twice

    broker_tests.wait_for(lambda: Alert.objects.unscoped().get().state == AlertState.DELIVERED, seconds=60)
    attempts = list(DeliveryAttempt.objects.unscoped().order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [(1, 503, False), (2, 200, True)]
    assert (attempts[1].attempted_at - attempts[0].attempted_at).total_seconds() >= 1
    assert len(sink.received) == 2
    assert all(documented_verifier()(secret, r.headers["X-DataXPipe-Signature"], r.body) for r in sink.received)
