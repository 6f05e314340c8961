"""Writes of the alerts app: rules (API and admin), alerts raised by detection, and delivery attempts.

Delivery is at-least-once per attempt budget: an alert is claimed with a conditional UPDATE (two workers never
send it at once), sent outside any transaction, and its attempt recorded after. A failure schedules the next
attempt with exponential backoff (30 s, 1, 2, 4 min by default); after MAX_ATTEMPTS the alert is `failed`, kept with
every attempt for the operator.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alerts import destinations, http_egress, signing
from alerts.models import Alert, AlertEventType, AlertRule, AlertState, DeliveryAttempt, DestinationType
from catalog import secrets
from orgs.errors import Conflict, InvalidInput

MAX_RECIPIENTS = 10
MAX_ATTEMPTS = 5
# Longer than one attempt can take (connect 5 s + read 10 s, or the mail server's timeout), so a claim held by a
# worker that died expires and another worker sends the alert.
CLAIM_SECONDS = 60


@dataclass(frozen=True)
class SavedRule:
    rule: AlertRule
    # The webhook signing secret when this save created it (shown once), else None.
    signing_secret: str | None = None


def _clean_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise InvalidInput(fields={"events": [f"Give one or more of {', '.join(AlertEventType.values)}."]})
    unknown = [event for event in events if event not in AlertEventType.values]
    if unknown:
        raise InvalidInput(fields={"events": [f"Unknown events {unknown}; use {', '.join(AlertEventType.values)}."]})
    return [event for event in AlertEventType.values if event in events]


def _clean_recipients(to) -> list[str]:
    recipients = [to] if isinstance(to, str) else to
    if not isinstance(recipients, list | tuple) or not recipients:
        raise InvalidInput(fields={"destination": ["to: give one e-mail address or a list of them."]})
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(fields={"destination": [f"to: at most {MAX_RECIPIENTS} addresses."]})
    cleaned = []
    for address in recipients:
        try:
            if not isinstance(address, str):
                raise ValidationError("not text")
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                fields={"destination": [f"to: {str(address)[:100]!r} is not an e-mail address."]}
            ) from None
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


def _checked_url(url) -> str:
    """The URL masked, once the egress policy accepts it (a name without an address now is judged at delivery)."""
    try:
        http_egress.check_url(url)
    except http_egress.EgressRefused as exc:
        raise InvalidInput(fields={"destination": [str(exc)]}) from None
    except http_egress.Unresolvable:
        pass
    return mask_url(url)


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..."


def _destination_fields(destination_type, url, to) -> dict:
    if destination_type not in DestinationType.values:
        raise InvalidInput(fields={"destination": [f"type: use one of {', '.join(DestinationType.values)}."]})
    if destination_type == DestinationType.EMAIL:
        if url not in (None, ""):
            raise InvalidInput(fields={"destination": ["url: an e-mail destination takes `to`, not `url`."]})
        return {"to": _clean_recipients(to), "encrypted_url": "", "url_masked": ""}
    if to not in (None, "", []):
        raise InvalidInput(fields={"destination": [f"to: a {destination_type} destination takes `url`, not `to`."]})
    masked = _checked_url(url)
    return {"to": [], "encrypted_url": secrets.encrypt_secret(url), "url_masked": masked}


def create_rule(*, organization, name, events, destination_type, url=None, to=None, enabled=True) -> SavedRule:
    fields = {"events": _clean_events(events), **_destination_fields(destination_type, url, to)}
    secret = signing.generate_signing_secret() if destination_type == DestinationType.WEBHOOK else None
    rule = AlertRule(
        organization=organization,
        name=name,
        destination_type=destination_type,
        enabled=enabled,
        encrypted_signing_secret=secrets.encrypt_secret(secret) if secret else "",
        **fields,
    )
    _save(rule, "PATCH it or choose another name")
    return SavedRule(rule, secret)


def update_rule(*, rule: AlertRule, name=None, events=None, destination=None, enabled=None) -> SavedRule:
    """`destination`: (type, url, to) replacing the current one, or None. A webhook keeps its signing secret
    unless it becomes a webhook now, which creates one (shown once)."""
    secret = None
    if name is not None:
        rule.name = name
    if events is not None:
        rule.events = _clean_events(events)
    if enabled is not None:
        rule.enabled = enabled
    if destination is not None:
        destination_type, url, to = destination
        for field, value in _destination_fields(destination_type, url, to).items():
            setattr(rule, field, value)
        if destination_type == DestinationType.WEBHOOK and rule.destination_type != DestinationType.WEBHOOK:
            secret = signing.generate_signing_secret()
            rule.encrypted_signing_secret = secrets.encrypt_secret(secret)
        elif destination_type != DestinationType.WEBHOOK:
            rule.encrypted_signing_secret = ""
        rule.destination_type = destination_type
    _save(rule, "choose another name")
    return SavedRule(rule, secret)


def _save(rule: AlertRule, advice: str) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise Conflict(f"An alert rule named {rule.name!r} already exists; {advice}.") from None


def delete_rule(*, rule: AlertRule) -> None:
    rule.delete()


def set_enabled(rules, enabled: bool) -> int:
    return rules.update(enabled=enabled, updated_at=timezone.now())


def record_alerts(alerts: list[Alert]) -> None:
    """Inserts what detection found; an alert already recorded for the same rule and subject is left as it is."""
    Alert.objects.bulk_create(alerts, ignore_conflicts=True)


# --- Delivery ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    attempted: bool
    delivered: bool = False
    # Seconds until the next attempt when this one failed and attempts remain.
    retry_in: float | None = None


def backoff_seconds(attempt_number: int) -> float:
    return settings.DATAXPIPE_ALERT_RETRY_BASE_SECONDS * 2 ** (attempt_number - 1)


def _unclaimed(now):
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due_alert_ids(now, limit: int, redispatch_after: timedelta | None = None) -> list[int]:
    """Pending alerts of enabled rules whose next attempt is due, oldest first. With `redispatch_after`, only
    those with no message at the workers, or whose message was sent that long ago and looks lost."""
    # unscoped: the delivery sweep serves every organization; each alert carries its own organization and rule.
    due = (
        Alert.objects.unscoped()
        .filter(state=AlertState.PENDING, next_attempt_at__lte=now, rule__enabled=True)
        .filter(_unclaimed(now))
    )
    if redispatch_after is not None:
        due = due.filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - redispatch_after))
    return list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])


def mark_dispatched(alert_ids: list[int], now) -> None:
    # unscoped: ids the sweep just read from every organization's due alerts.
    Alert.objects.unscoped().filter(pk__in=alert_ids).update(dispatched_at=now)


def _claim(alert_id: int, now) -> bool:
    # unscoped: a worker is handed an alert id alone; the row decides its organization.
    claimed = (
        Alert.objects.unscoped()
        # A rule disabled since the message was sent: its alert waits (a retry message must not send it).
        .filter(pk=alert_id, state=AlertState.PENDING, next_attempt_at__lte=now + timedelta(seconds=1))
        .filter(rule__enabled=True)
        .filter(_unclaimed(now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    return claimed == 1


def attempt_delivery(alert_id: int, now=None) -> DeliveryOutcome:
    """One attempt at sending the alert, recorded; a no-op when it is not due or another worker holds it."""
    now = now or timezone.now()
    if not _claim(alert_id, now):
        return DeliveryOutcome(attempted=False)
    # unscoped: the row was just claimed by its id (see _claim).
    alert = Alert.objects.unscoped().select_related("rule", "organization").get(pk=alert_id)
    outcome = destinations.send(alert, alert.rule)
    # Numbered over the alert's life; `attempts` counts the current budget (send_again starts a new one).
    number = alert.delivery_attempts.count() + 1
    tries = alert.attempts + 1
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            organization=alert.organization,
            alert=alert,
            number=number,
            attempted_at=now,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            error=outcome.error[:500],
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt[:500],
        )
        alert.attempts, alert.claimed_until = tries, None
        retry_in = None
        if outcome.succeeded:
            alert.state, alert.delivered_at, alert.settled_at = AlertState.DELIVERED, now, now
        elif tries >= MAX_ATTEMPTS:
            alert.state, alert.settled_at = AlertState.FAILED, now
        else:
            retry_in = backoff_seconds(tries)
            alert.next_attempt_at = now + timedelta(seconds=retry_in)
            # The worker schedules the retry's message itself (Celery countdown): the sweep need not send one.
            alert.dispatched_at = now
        alert.save(
            update_fields=[
                "attempts",
                "claimed_until",
                "state",
                "delivered_at",
                "settled_at",
                "next_attempt_at",
                "dispatched_at",
            ]
        )
    return DeliveryOutcome(attempted=True, delivered=outcome.succeeded, retry_in=retry_in)


def send_again(alerts) -> int:
    """Failed alerts (attempts exhausted) get a fresh budget of attempts, from now (the admin's action)."""
    return alerts.filter(state=AlertState.FAILED).update(
        state=AlertState.PENDING,
        next_attempt_at=timezone.now(),
        claimed_until=None,
        dispatched_at=None,
        attempts=0,
        settled_at=None,
    )
