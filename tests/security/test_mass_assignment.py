"""Fields the server owns cannot be set through any write body.

Every write is sent with the fields a caller must never control (another organization, a plan,
ids, timestamps, key digests and prefixes, encrypted columns, derived status) next to its valid
content; the stored row shows the server's values, not the caller's. The write routes are
enumerated from the URL configuration: a new write route fails `test_every_write_route_is_probed`
until a probe is added here.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import AlertRule
from catalog.models import Connection, Pipeline, Run
from checks.models import CheckResult
from lineage.models import Dataset, OpenLineageEvent
from orgs.models import ApiKey, Organization
from tests.security.bodies import POSTGRES_CONFIG, openlineage_event
from tests.security.routes import api_routes, write_methods
from tests.security.world import example_spec

pytestmark = pytest.mark.django_db

LONG_AGO = "2001-01-01T00:00:00Z"
FORGED_ID = 987654


def server_owned(world_b) -> dict:
    """What no body may set: tenancy, plan, primary keys, audit timestamps."""
    org_b = world_b.organization
    return {
        "organization": org_b.pk,
        "organization_id": org_b.pk,
        "org": org_b.slug,
        "organization_slug": org_b.slug,
        "plan": "enterprise",
        "id": FORGED_ID,
        "pk": FORGED_ID,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
    }


@pytest.fixture
def admin_a(world_a):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=world_a.keys["admin"])
    return client


def _recent(moment) -> bool:
    return moment is not None and timezone.now() - moment < timedelta(minutes=5)


def _plans_unchanged(world_a, world_b):
    assert Organization.objects.get(pk=world_a.organization.pk).plan == world_a.organization.plan
    assert Organization.objects.get(pk=world_b.organization.pk).plan == world_b.organization.plan


PROBED = set()


def probes(*routes):
    def mark(fn):
        PROBED.update(routes)
        return fn

    return mark


def test_every_write_route_is_probed():
    writes = {(route.key, method) for route in api_routes() for method in write_methods(route)}
    missing = sorted(writes - PROBED)
    assert not missing, f"add a mass-assignment probe to tests/security/test_mass_assignment.py for {missing}"


@probes(("api/v1/api-keys", "post"))
def test_api_key_creation_ignores_digest_prefix_and_state(admin_a, world_a, world_b):
    forged_key = "dxp_AAAAAAAA_" + "b" * 40
    body = {
        "name": "ci",
        "role": "read",
        "prefix": "AAAAAAAA",
        "digest": "0" * 64,
        "key": forged_key,
        "masked": "dxp_AAAA",
        "revoked_at": LONG_AGO,
        "last_used_at": LONG_AGO,
        "state": "revoked",
        "created_by": 1,
        **server_owned(world_b),
    }
    response = admin_a.post("/api/v1/api-keys/", body, format="json")
    assert response.status_code == 201, response.content
    stored = ApiKey.objects.unscoped().get(pk=response.json()["id"])
    assert stored.organization_id == world_a.organization.pk
    assert stored.pk != FORGED_ID and stored.prefix != "AAAAAAAA" and stored.digest != "0" * 64
    assert stored.revoked_at is None and stored.last_used_at is None and stored.created_by_id is None
    assert _recent(stored.created_at)
    assert response.json()["key"] != forged_key
    # The key the server made works; the forged one does not.
    assert APIClient(HTTP_X_API_KEY=response.json()["key"]).get("/api/v1/pipelines").status_code == 200
    assert APIClient(HTTP_X_API_KEY=forged_key).get("/api/v1/pipelines").status_code == 401
    _plans_unchanged(world_a, world_b)


@probes(("api/v1/api-keys/{pk}/revoke", "post"))
def test_revoke_ignores_a_body(admin_a, world_a, world_b):
    pk = world_a.api_key_pk
    body = {"revoked_at": "2099-01-01T00:00:00Z", "state": "active", "role": "admin", **server_owned(world_b)}
    assert admin_a.post(f"/api/v1/api-keys/{pk}/revoke", body, format="json").status_code == 200
    stored = ApiKey.objects.unscoped().get(pk=pk)
    assert _recent(stored.revoked_at) and stored.role == "read"
    assert stored.organization_id == world_a.organization.pk


@probes(("api/v1/pipelines", "post"))
def test_registration_ignores_hash_version_pointer_and_flags(admin_a, world_a, world_b):
    other = Pipeline.objects.unscoped().filter(organization=world_b.organization).first()
    body = {
        **example_spec(name="forged_pipe", version="1"),
        **server_owned(world_b),
        "spec_hash": "f" * 64,
        "current_version": other.current_version_id,
        "latest_run_status": "success",
        "is_external": True,
    }
    response = admin_a.post("/api/v1/pipelines/", body, format="json")
    assert response.status_code == 201, response.content
    stored = Pipeline.objects.unscoped().select_related("current_version").get(name="forged_pipe")
    assert stored.organization_id == world_a.organization.pk
    assert stored.pk != FORGED_ID and not stored.is_external and _recent(stored.created_at)
    assert stored.current_version.pipeline_id == stored.pk
    assert stored.current_version.spec_hash != "f" * 64
    assert not stored.runs.exists()
    assert response.json()["latest_run_status"] is None
    _plans_unchanged(world_a, world_b)


@probes(("api/v1/runs", "post"))
def test_run_creation_ignores_tenancy_and_timestamps(admin_a, world_a, world_b):
    other = Pipeline.objects.unscoped().get(organization=world_b.organization)
    body = {
        "pipeline_id": "orders_sync",
        "status": "running",
        "run_id": "run-forged",
        "pipeline": other.pk,
        "duration_seconds": 99,
        "health": "passing",
        **server_owned(world_b),
    }
    response = admin_a.post("/api/v1/runs/", body, format="json")
    assert response.status_code == 201, response.content
    stored = Run.objects.unscoped().get(run_id="run-forged")
    assert stored.organization_id == world_a.organization.pk
    assert stored.pipeline.name == "orders_sync" and stored.pipeline.organization_id == world_a.organization.pk
    assert stored.pk != FORGED_ID and _recent(stored.created_at)


@probes(("api/v1/runs/{run_id}", "patch"))
def test_run_event_cannot_move_a_run_or_reopen_it(admin_a, world_a, world_b):
    from workflows import pipeline_spec
    from workflows.registration import register_pipeline

    register_pipeline(
        organization=world_a.organization, spec=pipeline_spec.parse(example_spec(name="other_pipe", version="1"))
    )
    # Another pipeline of the same organization: the run stays where it is.
    moved = admin_a.patch("/api/v1/runs/run-a-1", {"status": "success", "pipeline_id": "other_pipe"}, format="json")
    assert moved.status_code in (400, 409), moved.content
    run = Run.objects.unscoped().get(organization=world_a.organization, run_id="run-a-1")
    assert run.pipeline.name == "orders_sync" and run.status == "running"
    renamed = admin_a.patch("/api/v1/runs/run-a-1", {"status": "success", "run_id": "run-other"}, format="json")
    assert renamed.status_code == 400 and "run_id" in renamed.json()
    done = admin_a.patch("/api/v1/runs/run-a-1", {"status": "success", **server_owned(world_b)}, format="json")
    assert done.status_code == 200, done.content
    run.refresh_from_db()
    assert run.organization_id == world_a.organization.pk and run.pk != FORGED_ID and _recent(run.created_at)
    # Status by the side door: re-posting a finished run as running is a late event, absorbed;
    # another terminal status is a conflict. Neither reopens nor rewrites it.
    for status, expected in (("running", 200), ("failed", 409)):
        again = admin_a.post(
            "/api/v1/runs/", {"pipeline_id": "orders_sync", "status": status, "run_id": "run-a-1"}, format="json"
        )
        assert again.status_code == expected, again.content
        run.refresh_from_db()
        assert run.status == "success"


CONNECTION_FORGERIES = {"encrypted_dsn_password": "gAAAAAforged", "has_dsn_password": True}


@probes(("api/v1/connections", "post"))
def test_connection_creation_ignores_encrypted_column(admin_a, world_a, world_b):
    # "id" is the connection's natural key in this API (connection_id), so it is not forged here.
    body = {
        **server_owned(world_b),
        **CONNECTION_FORGERIES,
        "id": "wh-new",
        "type": "postgres",
        "config": POSTGRES_CONFIG,
    }
    response = admin_a.post("/api/v1/connections/", body, format="json")
    assert response.status_code == 201, response.content
    stored = Connection.objects.unscoped().get(connection_id="wh-new")
    assert stored.organization_id == world_a.organization.pk
    assert stored.encrypted_dsn_password == "" and stored.pk != FORGED_ID and _recent(stored.created_at)
    assert response.json()["has_dsn_password"] is False


@probes(("api/v1/connections/{id}", "put"), ("api/v1/connections/{id}", "patch"))
@pytest.mark.parametrize("method", ["put", "patch"])
def test_connection_update_ignores_encrypted_column_and_tenancy(admin_a, world_a, world_b, method):
    before = Connection.objects.unscoped().get(organization=world_a.organization, connection_id="wh-a")
    body = {"type": "postgres", "config": POSTGRES_CONFIG, **CONNECTION_FORGERIES, **server_owned(world_b)}
    body.pop("id")
    response = getattr(admin_a, method)("/api/v1/connections/wh-a", body, format="json")
    assert response.status_code == 200, response.content
    stored = Connection.objects.unscoped().get(pk=before.pk)
    assert stored.organization_id == world_a.organization.pk and stored.created_at == before.created_at
    assert stored.encrypted_dsn_password != "gAAAAAforged"
    rename = {"id": "wh-z", "type": "postgres", "config": POSTGRES_CONFIG}
    renamed = getattr(admin_a, method)("/api/v1/connections/wh-a", rename, format="json")
    assert renamed.status_code == 400 and "id" in renamed.json()


@probes(("api/v1/connections/{id}", "delete"))
def test_connection_delete_ignores_a_body(admin_a, world_a, world_b):
    """A body on DELETE cannot redirect it to another organization's row."""
    response = admin_a.delete(
        "/api/v1/connections/wh-a", {"organization": world_b.organization.pk, "id": "wh-b"}, format="json"
    )
    assert response.status_code == 204
    assert Connection.objects.unscoped().filter(organization=world_b.organization, connection_id="wh-b").exists()


@probes(("api/v1/checks/results", "post"))
def test_recorded_result_takes_severity_and_threshold_from_the_definition(admin_a, world_a, world_b):
    body = {
        "check_id": "chk_freshness",
        "violations": 0,
        "severity": "info",
        "threshold": 1000,
        "check_definition": FORGED_ID,
        **server_owned(world_b),
    }
    response = admin_a.post("/api/v1/checks/results/", body, format="json")
    assert response.status_code == 201, response.content
    stored = CheckResult.objects.unscoped().get(result_id=response.json()["result_id"])
    assert stored.organization_id == world_a.organization.pk and stored.pk != FORGED_ID
    assert stored.check_definition.organization_id == world_a.organization.pk
    assert stored.severity == "error" and stored.threshold == 0 and _recent(stored.created_at)
    # Status is derived from violations and the threshold: "pass" with 5 violations is refused.
    lie = admin_a.post(
        "/api/v1/checks/results/", {"check_id": "chk_freshness", "status": "pass", "violations": 5}, format="json"
    )
    assert lie.status_code == 400 and "status" in lie.json()


@probes(("api/v1/checks/execute", "post"))
def test_executed_result_status_comes_from_the_warehouse(admin_a, world_a, world_b):
    body = {
        "check_id": "adhoc",
        "connection_id": "wh-a",  # points at a .invalid host: it never resolves, the result is an error
        "sql": "SELECT 0 AS violations",
        "status": "pass",
        "violations": 0,
        "duration_ms": 1,
        "error_message": "",
        **server_owned(world_b),
    }
    response = admin_a.post("/api/v1/checks/execute", body, format="json")
    assert response.status_code == 502, response.content
    stored = CheckResult.objects.unscoped().get(result_id=response.json()["result_id"])
    assert stored.organization_id == world_a.organization.pk and stored.status == "error"
    assert stored.pk != FORGED_ID and _recent(stored.created_at)


@probes(("api/v1/lineage", "post"))
def test_openlineage_event_lands_in_the_callers_organization(admin_a, world_a, world_b):
    event = {**openlineage_event("ol_job", "ol_input"), **server_owned(world_b)}
    event["run"]["facets"] = {"organization": {"slug": "org-b"}}
    response = admin_a.post("/api/v1/lineage", event, format="json")
    assert response.status_code == 201, response.content
    assert Dataset.objects.unscoped().filter(organization=world_a.organization, dataset_id="ol_input").exists()
    assert not Dataset.objects.unscoped().filter(organization=world_b.organization, dataset_id="ol_input").exists()
    assert OpenLineageEvent.objects.unscoped().filter(organization=world_a.organization).count() == 1
    assert not OpenLineageEvent.objects.unscoped().filter(organization=world_b.organization).exists()
    assert Pipeline.objects.unscoped().get(organization=world_a.organization, name="ol_job").is_external


@probes(("api/v1/lineage/batch", "post"))
def test_openlineage_batch_events_land_in_the_callers_organization(admin_a, world_a, world_b):
    event = {**openlineage_event("ol_batch_job", "ol_batch_input"), **server_owned(world_b)}
    response = admin_a.post("/api/v1/lineage/batch", [event], format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
    assert Dataset.objects.unscoped().filter(organization=world_a.organization, dataset_id="ol_batch_input").exists()
    assert (
        not Dataset.objects.unscoped().filter(organization=world_b.organization, dataset_id="ol_batch_input").exists()
    )
    assert not OpenLineageEvent.objects.unscoped().filter(organization=world_b.organization).exists()


@probes(("api/v1/runs/batch", "post"))
def test_run_batch_ignores_tenancy_and_timestamps(admin_a, world_a, world_b):
    other = Pipeline.objects.unscoped().get(organization=world_b.organization)
    body = {"pipeline_id": "orders_sync", "status": "running", "run_id": "run-batch-forged", "pipeline": other.pk}
    response = admin_a.post("/api/v1/runs/batch", [{**body, **server_owned(world_b)}], format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
    stored = Run.objects.unscoped().get(run_id="run-batch-forged")
    assert stored.organization_id == world_a.organization.pk
    assert stored.pipeline.organization_id == world_a.organization.pk
    assert stored.pk != FORGED_ID and _recent(stored.created_at)


@probes(("api/v1/billing/checkout", "post"), ("api/v1/billing/portal", "post"))
def test_billing_never_changes_the_plan_from_a_body(admin_a, world_a, world_b):
    for url in ("/api/v1/billing/checkout", "/api/v1/billing/portal"):
        response = admin_a.post(
            url, {"plan": "enterprise", "customer": "cus_forged", **server_owned(world_b)}, format="json"
        )
        assert response.status_code < 500 or response.status_code == 503
    _plans_unchanged(world_a, world_b)


def test_organization_me_is_read_only(admin_a, world_a, world_b):
    for method in ("put", "patch", "post", "delete"):
        response = getattr(admin_a, method)(
            "/api/v1/organizations/me", {"plan": "enterprise", "slug": "x"}, format="json"
        )
        assert response.status_code == 405
    _plans_unchanged(world_a, world_b)


ALERT_RULE_FORGERIES = {
    "encrypted_url": "gAAAAAforged",
    "url_masked": "https://forged.example/...",
    "encrypted_signing_secret": "gAAAAAforged",
    "signing_secret": "whsec_" + "F" * 40,
}


@probes(("api/v1/alerts", "post"))
def test_alert_rule_creation_ignores_secrets_and_tenancy(admin_a, world_a, world_b):
    body = {
        **server_owned(world_b),
        **ALERT_RULE_FORGERIES,
        "name": "forged",
        "events": ["run_failed"],
        "destination": {"type": "email", "to": "ops@example.com"},
    }
    response = admin_a.post("/api/v1/alerts/", body, format="json")
    assert response.status_code == 201, response.content
    stored = AlertRule.objects.unscoped().get(name="forged")
    assert stored.organization_id == world_a.organization.pk and stored.pk != FORGED_ID
    assert stored.encrypted_url == "" and stored.url_masked == "" and stored.encrypted_signing_secret == ""
    assert _recent(stored.created_at) and response.json()["signing_secret"] is None


@probes(("api/v1/alerts/{rule_id}", "patch"))
def test_alert_rule_update_ignores_secrets_and_tenancy(admin_a, world_a, world_b):
    before = AlertRule.objects.unscoped().get(pk=world_a.alert_rule_id)
    body = {**server_owned(world_b), **ALERT_RULE_FORGERIES, "enabled": False}
    response = admin_a.patch(f"/api/v1/alerts/{before.pk}", body, format="json")
    assert response.status_code == 200, response.content
    stored = AlertRule.objects.unscoped().get(pk=before.pk)
    assert stored.organization_id == world_a.organization.pk and stored.created_at == before.created_at
    assert stored.encrypted_url == before.encrypted_url and stored.url_masked == before.url_masked
    assert stored.encrypted_signing_secret == before.encrypted_signing_secret and stored.enabled is False
    assert response.json()["signing_secret"] is None


@probes(("api/v1/alerts/{rule_id}", "delete"))
def test_alert_rule_delete_ignores_a_body(admin_a, world_a, world_b):
    response = admin_a.delete(
        f"/api/v1/alerts/{world_a.alert_rule_id}", {"organization": world_b.organization.pk}, format="json"
    )
    assert response.status_code == 204
    assert not AlertRule.objects.unscoped().filter(pk=world_a.alert_rule_id).exists()
