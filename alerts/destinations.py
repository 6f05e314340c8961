"""Sending one alert to its rule's destination, once: a webhook (signed JSON), Slack, or e-mail.

Never raises for a destination's failure: the outcome says what happened, and the caller records it.
"""

import json
import smtplib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

from alerts import http_egress, messages, signing
from alerts.models import DestinationType
from catalog import secrets


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: float | None = None


def send(alert, rule) -> Outcome:
    if rule.destination_type == DestinationType.EMAIL:
        return _send_email(alert, rule)
    try:
        url = secrets.decrypt_secret(rule.encrypted_url)
        secret = secrets.decrypt_secret(rule.encrypted_signing_secret) if rule.encrypted_signing_secret else ""
    except secrets.SecretResolutionError:
        # Raising here would leave the alert claimed and unrecorded, retried for ever: record it as an attempt.
        return Outcome(False, error="the rule's stored URL or signing secret cannot be decrypted; save the rule again.")
    try:
        checked = http_egress.check_url(url)
    except http_egress.EgressRefused as exc:
        return Outcome(False, error=f"refused by the egress policy: {exc}"[:500])
    except http_egress.Unresolvable:
        return Outcome(False, error=f"the host of {rule.url_masked} has no address now.")
    if rule.destination_type == DestinationType.SLACK:
        body, headers = _json(messages.slack_body(alert, rule)), {}
    else:
        body = _json(messages.webhook_body(alert, rule))
        headers = {
            signing.SIGNATURE_HEADER: signing.signature_header(secret, int(time.time()), body),
            "X-DataXPipe-Event": alert.event,
            "X-DataXPipe-Alert-Id": str(alert.pk),
        }
    result = http_egress.post_json(checked, body, headers)
    return Outcome(result.succeeded, result.status_code, result.error, result.excerpt, result.duration_ms)


def _json(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def _send_email(alert, rule) -> Outcome:
    started = time.monotonic()
    try:
        send_mail(
            messages.email_subject(alert),
            messages.email_text(alert, rule),
            settings.DEFAULT_FROM_EMAIL,
            list(rule.to),
            fail_silently=False,
        )
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return Outcome(False, error=f"the mail server refused or was unreachable ({exc.__class__.__name__}).")
    return Outcome(True, duration_ms=(time.monotonic() - started) * 1000)
