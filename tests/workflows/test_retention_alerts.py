"""Retention of alerts: settled ones (delivered, failed) age by when their delivery ended and go with their
delivery attempts; pending ones (not sent yet, or between retries) stay however old."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from alerts import destinations, services
from alerts.models import Alert, AlertRule, AlertState, DeliveryAttempt
from orgs.models import Plan
from tests.workflows.test_retention import NOW, OLD, RECENT, exists
from workflows import retention

ANCIENT = NOW - timedelta(days=400)


class Alerts:
    """Alerts of one organization's rule, each dated on the clock the purge reads."""

    def __init__(self, organization):
        self.organization = organization
        self.rule = AlertRule.objects.create(
            organization=organization, name="on-call", events=["run_failed"], destination_type="email", to=["a@b.io"]
        )
        self.n = 0

    def alert(self, state, settled_at=None, created_at=None, attempts=0):
        self.n += 1
        alert = Alert.objects.create(
            organization=self.organization,
            rule=self.rule,
            event="run_failed",
            dedup_key=f"run:run-{self.n}",
            run_id=f"run-{self.n}",
            state=state,
            attempts=attempts,
            delivered_at=settled_at if state == AlertState.DELIVERED else None,
            # What the producer said: never what ages the alert.
            payload={"run": {"finished_at": ANCIENT.isoformat()}},
        )
        Alert.objects.unscoped().filter(pk=alert.pk).update(
            created_at=created_at or settled_at or OLD, settled_at=settled_at
        )
        for number in range(1, attempts + 1):
            DeliveryAttempt.objects.create(
                organization=self.organization,
                alert=alert,
                number=number,
                attempted_at=created_at or settled_at or OLD,
                succeeded=state == AlertState.DELIVERED and number == attempts,
            )
        return alert


def attempts_of(alert):
    return DeliveryAttempt.objects.unscoped().filter(alert_id=alert.pk).count()


@pytest.fixture
def acme(make_org):
    return Alerts(make_org("acme", plan=Plan.FREE))


def test_old_settled_alerts_go_with_their_attempts_recent_and_pending_ones_stay(acme):
    delivered = acme.alert(AlertState.DELIVERED, settled_at=OLD, attempts=2)
    failed = acme.alert(AlertState.FAILED, settled_at=OLD, attempts=5)
    recent = acme.alert(AlertState.DELIVERED, settled_at=RECENT, attempts=1)
    # Raised long ago, delivered only now (its rule enabled again): its own clock is when delivery ended.
    settled_late = acme.alert(AlertState.DELIVERED, settled_at=RECENT, created_at=ANCIENT, attempts=1)
    retrying = acme.alert(AlertState.PENDING, created_at=ANCIENT, attempts=3)
    never_sent = acme.alert(AlertState.PENDING, created_at=ANCIENT)

    outcome = retention.purge_organization(acme.organization, now=NOW, batch_rows=1, pause_seconds=0)

    assert (outcome.counts["alerts"], outcome.counts["alert_delivery_attempts"]) == (2, 7)
    assert not exists(delivered) and not exists(failed)
    assert attempts_of(delivered) == attempts_of(failed) == 0
    assert all(exists(alert) for alert in (recent, settled_late, retrying, never_sent))
    assert (attempts_of(recent), attempts_of(settled_late), attempts_of(retrying)) == (1, 1, 3)
    assert retention.purge_organization(acme.organization, now=NOW).total == 0


def test_another_organizations_alerts_of_the_same_age_are_untouched(acme, make_org):
    other = Alerts(make_org("other", plan=Plan.FREE))
    theirs = other.alert(AlertState.DELIVERED, settled_at=OLD, attempts=1)
    acme.alert(AlertState.DELIVERED, settled_at=OLD, attempts=1)

    assert retention.purge_organization(acme.organization, now=NOW).counts["alerts"] == 1
    assert exists(theirs) and attempts_of(theirs) == 1


def test_an_organization_whose_plan_keeps_everything_keeps_its_alerts(make_org):
    enterprise = Alerts(make_org("big", plan=Plan.ENTERPRISE))
    kept = enterprise.alert(AlertState.DELIVERED, settled_at=ANCIENT, attempts=1)

    retention.purge_history(now=NOW)

    assert exists(kept) and attempts_of(kept) == 1


def test_a_dry_run_counts_the_alerts_and_their_attempts_and_deletes_nothing(acme, settings):
    settings.RETENTION_BATCH_PAUSE_MS = 0
    rows = [acme.alert(AlertState.DELIVERED, settled_at=ANCIENT, attempts=2)]
    rows += [acme.alert(AlertState.FAILED, settled_at=ANCIENT, attempts=5)]
    rows += [acme.alert(AlertState.PENDING, created_at=ANCIENT, attempts=1)]

    out = StringIO()
    call_command("purge_history", "--organization", "acme", "--dry-run", stdout=out)

    assert "acme: would purge check_executions 0, check_results 0, runs 0, openlineage_events 0, alerts 2, " in (
        out.getvalue()
    )
    assert "alert_delivery_attempts 7 " in out.getvalue()
    assert "total would purge: 9 rows" in out.getvalue()
    assert all(exists(alert) for alert in rows)
    assert DeliveryAttempt.objects.unscoped().count() == 8


@pytest.mark.parametrize(
    ("answer", "state"),
    [(destinations.Outcome(True, status_code=250), AlertState.DELIVERED), (destinations.Outcome(False), None)],
)
def test_delivery_dates_the_end_of_an_alerts_delivery_and_sending_it_again_clears_it(acme, monkeypatch, answer, state):
    monkeypatch.setattr(destinations, "send", lambda alert, rule: answer)
    alert = acme.alert(AlertState.PENDING, created_at=ANCIENT, attempts=services.MAX_ATTEMPTS - 1)
    Alert.objects.unscoped().filter(pk=alert.pk).update(next_attempt_at=NOW)

    assert services.attempt_delivery(alert.pk, now=NOW).attempted
    alert.refresh_from_db()
    assert (alert.state, alert.settled_at) == (state or AlertState.FAILED, NOW)

    services.send_again(Alert.objects.unscoped().filter(pk=alert.pk))
    alert.refresh_from_db()
    # A failed alert sent again is pending until its new delivery ends; a delivered one is not sent again.
    assert alert.settled_at == (NOW if state == AlertState.DELIVERED else None)
