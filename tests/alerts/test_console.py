"""The console's alert pages: rules, alerts and their attempts, organization-scoped, never a URL's token or
a signing secret; enabling, disabling and sending failed alerts again through the services."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from alerts import sweep
from alerts.models import Alert, AlertRule, AlertState
from orgs import services as org_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_alerts(admin_client, org_a, org_b, make_sink, loopback_allowed, pipeline_of, fail_run):
    """Each organization: a webhook rule whose receiver answers 500, one failed run, five attempts (failed)."""
    secrets = {}
    for organization in (org_a, org_b):
        sink = make_sink(statuses=[500])
        created = admin_client(organization).post(
            "/api/v1/alerts/",
            {
                "name": f"hook-{organization.slug}",
                "events": ["run_failed"],
                "destination": {"type": "webhook", "url": sink.url},
            },
            format="json",
        )
        secrets[organization.slug] = created.json()["signing_secret"]
        fail_run(organization, pipeline_of(organization), f"run-{organization.slug}")
    clock = timezone.now()
    for wait in (0, 30, 60, 120, 240):
        clock += timedelta(seconds=wait)
        sweep.run(clock)
    assert set(Alert.objects.unscoped().values_list("state", flat=True)) == {AlertState.FAILED}
    return secrets


@pytest.fixture
def org_user_client(client, org_a):
    user = get_user_model().objects.create_user("alice", "alice@a.example", "pw-for-tests-only", is_staff=True)
    org_services.add_member(organization=org_a, user=user)
    codenames = ["view_alertrule", "change_alertrule", "view_alert", "change_alert", "view_deliveryattempt"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def test_an_organization_user_sees_only_their_rules_and_alerts(org_user_client, failed_alerts, org_a, org_b):
    for page in ("alerts/alertrule", "alerts/alert"):
        response = org_user_client.get(f"/admin/{page}/")
        assert response.status_code == 200, page
        assert {row.organization_id for row in response.context["cl"].result_list} == {org_a.pk}, page
        assert "org-b" not in response.content.decode()
    theirs = Alert.objects.unscoped().get(organization=org_b)
    assert org_user_client.get(f"/admin/alerts/alert/{theirs.pk}/change/").status_code == 404
    theirs_rule = AlertRule.objects.unscoped().get(organization=org_b)
    assert org_user_client.get(f"/admin/alerts/alertrule/{theirs_rule.pk}/change/").status_code == 404


def test_an_alert_page_shows_every_attempt_and_no_secret(org_user_client, failed_alerts, org_a):
    mine = Alert.objects.unscoped().get(organization=org_a)
    page = org_user_client.get(f"/admin/alerts/alert/{mine.pk}/change/").content.decode()
    assert page.count("answered 500.") == 5
    assert failed_alerts["org-a"] not in page and "abc123tokenvalue" not in page
    rule_page = org_user_client.get(f"/admin/alerts/alertrule/{mine.rule_id}/change/").content.decode()
    assert "http://127.0.0.1:" in rule_page and "abc123tokenvalue" not in rule_page
    assert failed_alerts["org-a"] not in rule_page


def test_send_again_and_disable_through_the_actions(org_user_client, failed_alerts, org_a, org_b):
    mine, theirs = (Alert.objects.unscoped().get(organization=org) for org in (org_a, org_b))
    response = org_user_client.post(
        "/admin/alerts/alert/", {"action": "send_again", "_selected_action": [mine.pk, theirs.pk]}, follow=True
    )
    assert response.status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, mine.attempts) == (AlertState.PENDING, 0)
    assert theirs.state == AlertState.FAILED  # out of the user's scope: untouched
    org_user_client.post("/admin/alerts/alertrule/", {"action": "disable", "_selected_action": [mine.rule_id]})
    assert AlertRule.objects.unscoped().get(pk=mine.rule_id).enabled is False
    assert sweep.run(timezone.now() + timedelta(hours=1)).attempted == 0  # a disabled rule's alerts wait


def test_no_secret_or_url_token_in_any_log_line(failed_alerts):
    from tests.security import recorder

    logged = [text for place, text in recorder._state.texts if place.startswith("log")]
    assert not [line for line in logged if "abc123tokenvalue" in line or "whsec_" in line]
