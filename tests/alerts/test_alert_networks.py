"""Attack: an operator opens a network for tenants' warehouses (DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS); an
organization admin points a webhook or Slack URL at an HTTP service in it (server-side request forgery). Alert
destinations are judged by their own list, DATAXPIPE_ALERT_ALLOWED_NETWORKS, at save time and before every
attempt; the warehouse list never opens anything to them, and the alert list never opens anything to warehouses."""

import pytest

from alerts import sweep
from alerts.models import AlertRule, DeliveryAttempt

pytestmark = pytest.mark.django_db

ALERT_SETTING = "DATAXPIPE_ALERT_ALLOWED_NETWORKS"
WAREHOUSE_SETTING = "DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS"


def rule_body(destination_type, url):
    return {"name": "hook", "events": ["run_failed"], "destination": {"type": destination_type, "url": url}}


@pytest.fixture
def warehouses_only(settings):
    """The operator's warehouse network is open (loopback for the local receiver, a private range as in a real
    deployment); the alert list is left at its default."""
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128", "10.20.0.0/16"]
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = []


@pytest.mark.parametrize("destination_type", ["webhook", "slack"])
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/internal", "https://10.20.0.5/admin", "https://[::1]/hook", "http://localhost/"]
)
def test_a_network_opened_for_warehouses_is_refused_to_alert_destinations_at_save_time(
    admin_client, org_a, warehouses_only, destination_type, url
):
    response = admin_client(org_a).post("/api/v1/alerts/", rule_body(destination_type, url), format="json")
    assert response.status_code == 400, response.content
    [message] = response.json()["destination"]
    assert ALERT_SETTING in message and WAREHOUSE_SETTING not in message
    assert "alert destinations must be on public addresses" in message
    assert not AlertRule.objects.unscoped().exists()


def test_changing_a_rules_url_into_a_warehouse_network_is_refused(admin_client, org_a, warehouses_only):
    client = admin_client(org_a)
    rule = client.post(
        "/api/v1/alerts/",
        {"name": "mail", "events": ["run_failed"], "destination": {"type": "email", "to": ["ops@example.com"]}},
        format="json",
    ).json()
    response = client.patch(
        f"/api/v1/alerts/{rule['id']}", {"destination": {"type": "webhook", "url": "https://10.20.0.5/"}}, format="json"
    )
    assert response.status_code == 400, response.content
    assert ALERT_SETTING in str(response.json())
    assert AlertRule.objects.unscoped().get().destination_type == "email"


def test_a_stored_rule_into_a_warehouse_network_is_refused_before_the_attempt(
    admin_client, org_a, make_sink, settings, pipeline_of, fail_run
):
    """Saved while the alert list opened loopback (or before alerts had a list of their own); now only the
    warehouse list opens it: nothing is sent, the attempt is recorded naming the alert setting."""
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sink = make_sink()
    created = admin_client(org_a).post("/api/v1/alerts/", rule_body("webhook", sink.url), format="json")
    assert created.status_code == 201, created.content
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = []
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()

    assert sink.received == []
    attempt = DeliveryAttempt.objects.unscoped().get()
    assert attempt.status_code is None
    assert "egress policy" in attempt.error and ALERT_SETTING in attempt.error


def test_the_alert_list_opens_a_network_to_alert_destinations(
    admin_client, org_a, make_sink, settings, pipeline_of, fail_run
):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = []
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sink = make_sink()
    created = admin_client(org_a).post("/api/v1/alerts/", rule_body("webhook", sink.url), format="json")
    assert created.status_code == 201, created.content

    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()

    assert len(sink.received) == 1
    assert DeliveryAttempt.objects.unscoped().get().status_code == 200


def test_the_alert_list_opens_nothing_to_warehouse_connections(admin_client, org_a, settings):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = []
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.20.0.0/16"]
    client = admin_client(org_a)
    for connection_id, host in (("pg-loop", "127.0.0.1"), ("pg-private", "10.20.0.5")):
        response = client.post(
            "/api/v1/connections",
            {"id": connection_id, "type": "postgres", "config": {"dsn": f"postgresql://u@{host}:5432/wh"}},
            format="json",
        )
        assert response.status_code == 400, response.content
        message = str(response.json())
        assert WAREHOUSE_SETTING in message and ALERT_SETTING not in message
        assert "warehouses must be on public addresses" in message


def test_the_warehouse_list_still_opens_warehouse_connections(admin_client, org_a, warehouses_only):
    response = admin_client(org_a).post(
        "/api/v1/connections",
        {"id": "pg-private", "type": "postgres", "config": {"dsn": "postgresql://u@10.20.0.5:5432/wh"}},
        format="json",
    )
    assert response.status_code == 201, response.content
