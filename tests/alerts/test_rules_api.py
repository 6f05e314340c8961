"""/api/v1/alerts/: rules of the caller's organization, admin role, bad input as 400 with field messages,
a webhook's signing secret shown once, destinations under the egress policy (attacked here)."""

import pytest
from django.db import connection

from alerts.models import AlertRule
from orgs.models import Role

pytestmark = pytest.mark.django_db

WEBHOOK = {"name": "on-call", "events": ["run_failed"], "destination": {"type": "webhook", "url": ""}}


def webhook_rule(url, name="on-call", events=("run_failed",)):
    return {"name": name, "events": list(events), "destination": {"type": "webhook", "url": url}}


def test_webhook_rule_shows_its_signing_secret_once_and_its_url_masked(admin_client, org_a, loopback_allowed):
    client = admin_client(org_a)
    created = client.post("/api/v1/alerts/", webhook_rule("http://127.0.0.1:9/hook?token=s3cr3t-token"), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signing_secret"].startswith("whsec_") and len(body["signing_secret"]) == 46
    assert body["destination"] == {"type": "webhook", "url": "http://127.0.0.1:9/..."}
    assert created["Cache-Control"] == "no-store"
    assert body["events"] == ["run_failed"] and body["enabled"] is True

    for response in (client.get("/api/v1/alerts/"), client.get(f"/api/v1/alerts/{body['id']}")):
        assert response.status_code == 200
        assert "whsec_" not in response.content.decode()
        assert "s3cr3t-token" not in response.content.decode()
    stored = AlertRule.objects.unscoped().get(pk=body["id"])
    assert body["signing_secret"] not in stored.encrypted_signing_secret
    assert "s3cr3t-token" not in stored.encrypted_url


def test_slack_and_email_rules(admin_client, org_a, loopback_allowed):
    client = admin_client(org_a)
    slack = client.post(
        "/api/v1/alerts",
        {
            "name": "slack",
            "events": ["pipeline_late", "check_failed"],
            "destination": {"type": "slack", "url": "http://127.0.0.1:9/services/T/B/X"},
        },
        format="json",
    )
    assert slack.status_code == 201, slack.content
    assert slack.json()["signing_secret"] is None
    assert slack.json()["events"] == ["check_failed", "pipeline_late"]
    email = client.post(
        "/api/v1/alerts/",
        {"name": "mail", "events": ["run_failed"], "destination": {"type": "email", "to": "ops@example.com"}},
        format="json",
    )
    assert email.status_code == 201, email.content
    assert email.json()["destination"] == {"type": "email", "to": ["ops@example.com"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x", "events": [], "destination": {"type": "email", "to": "a@example.com"}}, "events"),
        ({"name": "x", "events": ["run_exploded"], "destination": {"type": "email", "to": "a@example.com"}}, "events"),
        ({"name": "x", "events": ["run_failed"], "destination": {"type": "pager"}}, "destination"),
        (
            {"name": "x", "events": ["run_failed"], "destination": {"type": "email", "to": "not an address"}},
            "destination",
        ),
        (
            {
                "name": "x",
                "events": ["run_failed"],
                "destination": {"type": "email", "to": ["a@example.com\nBcc: x@evil.example"]},
            },
            "destination",
        ),
        (
            {"name": "x", "events": ["run_failed"], "destination": {"type": "email", "to": ["a@example.com"] * 11}},
            "destination",
        ),
        (
            {"name": "x", "events": ["run_failed"], "destination": {"type": "email", "url": "https://example.com"}},
            "destination",
        ),
        ({"name": "x", "events": ["run_failed"], "destination": {"type": "webhook"}}, "destination"),
        (
            {"name": "x", "events": ["run_failed"], "destination": {"type": "webhook", "url": "ftp://example.com/x"}},
            "destination",
        ),
        (
            {
                "name": "x",
                "events": ["run_failed"],
                "destination": {"type": "webhook", "url": "https://user:pw@example.com/"},
            },
            "destination",
        ),
        (
            {
                "name": "x",
                "events": ["run_failed"],
                "destination": {"type": "webhook", "url": "https://example.com:99999/"},
            },
            "destination",
        ),
        ({"name": "x", "events": ["run_failed"], "destination": "https://example.com"}, "destination"),
        ({"name": "x", "events": "run_failed", "destination": {"type": "email", "to": "a@example.com"}}, "events"),
        (
            {"name": "x" * 101, "events": ["run_failed"], "destination": {"type": "email", "to": "a@example.com"}},
            "name",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(admin_client, org_a, body, field):
    response = admin_client(org_a).post("/api/v1/alerts/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not AlertRule.objects.unscoped().exists()


def test_the_same_name_twice_is_409(admin_client, org_a):
    client = admin_client(org_a)
    body = {"name": "mail", "events": ["run_failed"], "destination": {"type": "email", "to": "a@example.com"}}
    assert client.post("/api/v1/alerts/", body, format="json").status_code == 201
    assert client.post("/api/v1/alerts/", body, format="json").status_code == 409


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",  # a name resolving to a private (loopback) address
        "https://10.0.0.5/hook",
        "https://0.0.0.0/hook",
        "https://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
def test_internal_destinations_are_refused_at_registration(admin_client, org_a, url):
    response = admin_client(org_a).post("/api/v1/alerts/", webhook_rule(url), format="json")
    assert response.status_code == 400, response.content
    assert "destination" in response.json()
    assert not AlertRule.objects.unscoped().exists()


def test_the_catalogs_database_server_is_refused_even_when_its_network_is_allowed(admin_client, org_a, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the catalog's database is a file on SQLite")
    database = connection.settings_dict
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    url = f"http://{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
    response = admin_client(org_a).post("/api/v1/alerts/", webhook_rule(url), format="json")
    assert response.status_code == 400
    assert "catalog's own database" in str(response.json())


def test_plain_http_only_to_allowed_networks(admin_client, org_a):
    response = admin_client(org_a).post("/api/v1/alerts/", webhook_rule("http://93.184.216.34/hook"), format="json")
    assert response.status_code == 400
    assert "https" in str(response.json())


def test_plain_http_to_an_allowed_network_judges_ipv4_in_ipv6_like_the_warehouse_policy(admin_client, org_a, settings):
    """The same allow-list test as catalog.egress: an IPv4-mapped address counts as its IPv4 address."""
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["198.51.100.0/24"]
    client = admin_client(org_a)
    for name, url in (("v4", "http://198.51.100.7/hook"), ("mapped", "http://[::ffff:198.51.100.7]/hook")):
        response = client.post("/api/v1/alerts/", webhook_rule(url, name=name), format="json")
        assert response.status_code == 201, response.content
    refused = client.post("/api/v1/alerts/", webhook_rule("http://[::ffff:192.0.2.7]/hook"), format="json")
    assert refused.status_code == 400


def test_patch_changes_fields_and_a_new_webhook_gets_a_secret_once(admin_client, org_a, loopback_allowed):
    client = admin_client(org_a)
    rule = client.post(
        "/api/v1/alerts/",
        {"name": "mail", "events": ["run_failed"], "destination": {"type": "email", "to": ["a@example.com"]}},
        format="json",
    ).json()
    renamed = client.patch(f"/api/v1/alerts/{rule['id']}/", {"name": "ops", "enabled": False}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "ops" and renamed.json()["enabled"] is False
    assert renamed.json()["signing_secret"] is None
    to_webhook = client.patch(
        f"/api/v1/alerts/{rule['id']}",
        {"destination": {"type": "webhook", "url": "http://127.0.0.1:9/x"}},
        format="json",
    )
    assert to_webhook.status_code == 200
    assert to_webhook.json()["signing_secret"].startswith("whsec_")
    again = client.patch(f"/api/v1/alerts/{rule['id']}", {"events": ["run_failed", "pipeline_late"]}, format="json")
    assert again.json()["signing_secret"] is None
    refused = client.patch(
        f"/api/v1/alerts/{rule['id']}",
        {"destination": {"type": "webhook", "url": "https://169.254.169.254/"}},
        format="json",
    )
    assert refused.status_code == 400
    assert AlertRule.objects.unscoped().get(pk=rule["id"]).url_masked == "http://127.0.0.1:9/..."
    assert client.delete(f"/api/v1/alerts/{rule['id']}").status_code == 204
    assert not AlertRule.objects.unscoped().exists()


def test_rules_need_the_admin_role_even_to_read(admin_client, org_a):
    for role in (Role.READ, Role.WRITE):
        client = admin_client(org_a, role)
        assert client.get("/api/v1/alerts/").status_code == 403
        body = {"name": "x", "events": ["run_failed"], "destination": {"type": "email", "to": "a@example.com"}}
        assert client.post("/api/v1/alerts/", body, format="json").status_code == 403


def test_another_organizations_rule_is_404(admin_client, org_a, org_b):
    body = {"name": "mail", "events": ["run_failed"], "destination": {"type": "email", "to": "a@example.com"}}
    rule = admin_client(org_a).post("/api/v1/alerts/", body, format="json").json()
    attacker = admin_client(org_b)
    assert attacker.get(f"/api/v1/alerts/{rule['id']}").status_code == 404
    assert attacker.get(f"/api/v1/alerts/{rule['id']}/deliveries").status_code == 404
    assert attacker.patch(f"/api/v1/alerts/{rule['id']}", {"enabled": False}, format="json").status_code == 404
    assert attacker.delete(f"/api/v1/alerts/{rule['id']}").status_code == 404
    assert attacker.get("/api/v1/alerts/").json()["results"] == []
    assert AlertRule.objects.unscoped().get(pk=rule["id"]).enabled is True


def test_renaming_onto_another_rules_name_is_409_and_changes_nothing(admin_client, org_a):
    client = admin_client(org_a)
    body = {"events": ["run_failed"], "destination": {"type": "email", "to": "a@example.com"}}
    client.post("/api/v1/alerts/", {"name": "mail", **body}, format="json")
    other = client.post("/api/v1/alerts/", {"name": "other", **body}, format="json").json()
    response = client.patch(f"/api/v1/alerts/{other['id']}", {"name": "mail"}, format="json")
    assert response.status_code == 409, response.content
    assert "'mail' already exists" in str(response.json())
    assert AlertRule.objects.unscoped().get(pk=other["id"]).name == "other"
