"""Delivery to real local receivers: a webhook receiver that verifies the signature with the documented
snippet, a Slack-shaped receiver, Django's locmem mail; deduplication, retries with backoff, every attempt
recorded, redirects not followed, the egress policy applied again at delivery."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts import services, sweep
from alerts.models import Alert, AlertRule, AlertState, DeliveryAttempt
from tests.alerts.conftest import documented_verifier

pytestmark = pytest.mark.django_db


def create_rule(client, destination, events=("run_failed",), name="on-call"):
    response = client.post(
        "/api/v1/alerts/", {"name": name, "events": list(events), "destination": destination}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_failed_run_reaches_the_webhook_signed(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink()
    rule = create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "orders_sync__2026-01-01")

    result = sweep.run()

    assert result.proposed == 1 and result.attempted == 1
    [request] = sink.received
    assert request.path == "/hooks/dataxpipe?token=abc123tokenvalue"
    signature = request.headers["X-DataXPipe-Signature"]
    verify = documented_verifier()
    assert verify(rule["signing_secret"], signature, request.body)
    assert not verify(rule["signing_secret"], signature, request.body + b" ")
    assert not verify("whsec_" + "x" * 40, signature, request.body)
    body = request.json()
    assert body["event"] == "run_failed" and body["run_id"] == "orders_sync__2026-01-01"
    assert body["pipeline"] == "orders_sync" and body["organization"] == "org-a" and body["rule"] == "on-call"
    assert request.headers["X-DataXPipe-Event"] == "run_failed"
    alert = Alert.objects.unscoped().get()
    assert alert.state == AlertState.DELIVERED
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_excerpt == "ok"


def test_an_old_signature_fails_the_documented_replay_window(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink()
    rule = create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()
    [request] = sink.received
    timestamp = int(request.headers["X-DataXPipe-Signature"].split(",")[0][2:])
    from alerts import signing

    old = signing.signature_header(rule["signing_secret"], timestamp - 301, request.body)
    assert not documented_verifier()(rule["signing_secret"], old, request.body)


def test_a_duplicate_failure_sends_one_alert(admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run):
    sink = make_sink()
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    pipeline = pipeline_of(org_a)
    fail_run(org_a, pipeline, "run-1")
    sweep.run()
    fail_run(org_a, pipeline, "run-1")  # the same FAIL event again (a retried request, a replayed OpenLineage event)
    sweep.run()
    sweep.run(timezone.now() + timedelta(seconds=30))  # and a pass whose overlap reads it once more

    assert len(sink.received) == 1
    assert Alert.objects.unscoped().count() == 1


def test_a_failing_destination_is_retried_with_backoff_and_every_attempt_recorded(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink(statuses=[503])
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "run-1")
    start = timezone.now()
    sweep.run(start)
    alert = Alert.objects.unscoped().get()
    assert alert.state == AlertState.PENDING and alert.attempts == 1
    assert alert.next_attempt_at == start + timedelta(seconds=30)

    assert sweep.run(start + timedelta(seconds=10)).attempted == 0  # not due yet
    clock, waits = start, [30, 60, 120, 240]
    for wait in waits:
        clock += timedelta(seconds=wait)
        assert sweep.run(clock).attempted == 1

    alert.refresh_from_db()
    assert alert.state == AlertState.FAILED and alert.attempts == services.MAX_ATTEMPTS
    attempts = list(DeliveryAttempt.objects.unscoped().order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5]
    assert all(a.status_code == 503 and not a.succeeded and a.error == "answered 503." for a in attempts)
    assert len(sink.received) == 5
    assert sweep.run(clock + timedelta(hours=1)).attempted == 0  # failed: kept, not sent again by itself

    sink.statuses = [200]
    assert services.send_again(Alert.objects.unscoped()) == 1
    assert sweep.run(timezone.now() + timedelta(hours=2)).attempted == 1
    alert.refresh_from_db()
    assert alert.state == AlertState.DELIVERED
    assert DeliveryAttempt.objects.unscoped().order_by("number").last().number == 6


def test_a_destination_recovering_gets_the_alert_on_a_later_attempt(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink(statuses=[500, 200])
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "run-1")
    start = timezone.now()
    sweep.run(start)
    sweep.run(start + timedelta(seconds=31))
    alert = Alert.objects.unscoped().get()
    assert alert.state == AlertState.DELIVERED and alert.attempts == 2
    assert [a.succeeded for a in alert.delivery_attempts.order_by("number")] == [False, True]
    # Both attempts carry the same alert id: a receiver can ignore a repeat.
    assert {r.headers["X-DataXPipe-Alert-Id"] for r in sink.received} == {str(alert.pk)}


def test_an_unreachable_destination_is_recorded_not_lost(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink()
    url = sink.url
    create_rule(admin_client(org_a), {"type": "webhook", "url": url})
    sink.stop()  # nobody listens any more
    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert attempt.status_code is None and "refused" in attempt.error
    assert Alert.objects.unscoped().get().state == AlertState.PENDING


def test_a_redirect_is_not_followed(admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run):
    inner = make_sink()  # stands for an internal service the redirect points at
    sink = make_sink(statuses=[302], location=inner.url)
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()
    assert len(sink.received) == 1 and inner.received == []
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert attempt.status_code == 302 and "redirects are not followed" in attempt.error


def test_the_egress_policy_is_applied_again_at_delivery(
    admin_client, org_a, make_sink, settings, pipeline_of, fail_run
):
    """Registered while the operator allowed loopback; the allow-list shrank since (or the name now resolves
    elsewhere): the attempt is refused and recorded, nothing is sent."""
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sink = make_sink()
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = []
    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()
    assert sink.received == []
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert "egress policy" in attempt.error and "loopback" in attempt.error


def test_slack_receives_an_incoming_webhook_body_with_names_escaped(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink()
    create_rule(admin_client(org_a), {"type": "slack", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "<!channel> & <https://evil.example|click>")
    sweep.run()
    [request] = sink.received
    body = request.json()
    assert set(body) == {"text", "blocks"}
    assert "X-DataXPipe-Signature" not in request.headers
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in body["text"]
    assert "<!channel>" not in json.dumps(body)
    assert body["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}


def test_email_goes_through_djangos_mail_backend(admin_client, org_a, pipeline_of, fail_run):
    create_rule(admin_client(org_a), {"type": "email", "to": ["ops@example.com", "oncall@example.com"]})
    fail_run(org_a, pipeline_of(org_a), "run-1\nBcc: victim@example.com")
    sweep.run()
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert "\n" not in message.subject and "orders_sync" in message.subject
    headers = message.message().as_string().split("\n\n", 1)[0]
    assert message.bcc == [] and not [line for line in headers.splitlines() if line.lower().startswith("bcc")]
    assert Alert.objects.unscoped().get().state == AlertState.DELIVERED


def test_a_rule_never_sees_another_organizations_runs(
    admin_client, org_a, org_b, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink_a, sink_b = make_sink(), make_sink()
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink_a.url})
    create_rule(admin_client(org_b), {"type": "webhook", "url": sink_b.url})
    fail_run(org_a, pipeline_of(org_a), "run-a")
    fail_run(org_b, pipeline_of(org_b), "run-b")
    sweep.run()
    assert [r.json()["run_id"] for r in sink_a.received] == ["run-a"]
    assert [r.json()["run_id"] for r in sink_b.received] == ["run-b"]
    assert {r.json()["organization"] for r in sink_b.received} == {"org-b"}


def test_a_disabled_rule_and_an_unsubscribed_event_send_nothing(admin_client, org_a, pipeline_of, fail_run):
    client = admin_client(org_a)
    rule = create_rule(client, {"type": "email", "to": "ops@example.com"})
    create_rule(client, {"type": "email", "to": "late@example.com"}, events=("pipeline_late",), name="late-only")
    client.patch(f"/api/v1/alerts/{rule['id']}", {"enabled": False}, format="json")
    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()
    assert mail.outbox == []


def test_the_deliveries_of_a_rule(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run, django_assert_max_num_queries
):
    sink = make_sink(statuses=[500, 200])
    client = admin_client(org_a)
    rule = create_rule(client, {"type": "webhook", "url": sink.url})
    pipeline = pipeline_of(org_a)
    for n in range(3):
        fail_run(org_a, pipeline, f"run-{n}")
    start = timezone.now()
    sweep.run(start)
    sweep.run(start + timedelta(seconds=31))
    client.get("/api/v1/alerts/")  # authenticates once: last_used_at is written at most once a minute
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/alerts/{rule['id']}/deliveries")
    assert response.status_code == 200
    alerts = response.json()["results"]
    assert len(alerts) == 3
    first = alerts[-1]  # the oldest: the first attempt of all, answered 500
    assert first["state"] == "delivered"
    assert [d["number"] for d in first["deliveries"]] == [1, 2]
    assert first["deliveries"][0]["status_code"] == 500
    assert "signing" not in response.content.decode() and "whsec_" not in response.content.decode()


def test_a_retry_of_a_rule_disabled_since_waits(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    sink = make_sink(statuses=[500])
    client = admin_client(org_a)
    rule = create_rule(client, {"type": "webhook", "url": sink.url})
    fail_run(org_a, pipeline_of(org_a), "run-1")
    start = timezone.now()
    sweep.run(start)
    client.patch(f"/api/v1/alerts/{rule['id']}", {"enabled": False}, format="json")
    alert = Alert.objects.unscoped().get()
    # What a worker does when the Celery retry message arrives.
    assert services.attempt_delivery(alert.pk, start + timedelta(seconds=31)).attempted is False
    assert len(sink.received) == 1


def test_a_signing_secret_that_cannot_be_decrypted_is_a_recorded_attempt(
    admin_client, org_a, make_sink, loopback_allowed, pipeline_of, fail_run
):
    """Not an exception that leaves the alert claimed and unrecorded, to be claimed again for ever."""
    sink = make_sink()
    create_rule(admin_client(org_a), {"type": "webhook", "url": sink.url})
    AlertRule.objects.unscoped().update(encrypted_signing_secret="not-a-fernet-token")
    fail_run(org_a, pipeline_of(org_a), "run-1")
    assert sweep.run().attempted == 1
    assert sink.received == []
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert not attempt.succeeded and "cannot be decrypted" in attempt.error
    assert Alert.objects.unscoped().get().claimed_until is None
