"""Management commands other tooling calls by name, and the admin's key form."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from orgs import keys
from orgs.models import ApiKey, Organization


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
class TestCommands:
    def test_create_org_then_key_prints_a_working_key_as_last_line(self):
        run("create_org", "acme", "--name", "Acme Corp", "--plan", "team")
        organization = Organization.objects.get(slug="acme")
        assert (organization.name, organization.plan) == ("Acme Corp", "team")
        full_key = run("create_api_key", "acme", "airflow", "--role", "read")[-1]
        assert full_key.startswith("dxp_") and len(full_key) == keys.KEY_LENGTH
        response = APIClient(HTTP_X_API_KEY=full_key).get("/api/v1/organizations/me")
        assert response.json()["slug"] == "acme"
        assert response.json()["role"] == "read"

    def test_create_org_rejects_a_bad_slug_and_a_duplicate(self):
        with pytest.raises(CommandError):
            run("create_org", "not a slug")
        run("create_org", "acme")
        with pytest.raises(CommandError):
            run("create_org", "acme")

    def test_create_api_key_for_unknown_org_fails_clearly(self):
        with pytest.raises(CommandError, match="No organization"):
            run("create_api_key", "ghost", "k")

    def test_seed_demo_supersedes_its_previous_key(self):
        first = run("seed_demo")[-1]
        second = run("seed_demo")[-1]
        assert APIClient(HTTP_X_API_KEY=first).get("/api/v1/organizations/me").status_code == 401
        assert APIClient(HTTP_X_API_KEY=second).get("/api/v1/organizations/me").status_code == 200
        assert ApiKey.objects.unscoped().filter(organization__slug="demo", revoked_at__isnull=True).count() == 1

    def test_seed_demo_is_repeatable_and_prints_a_usable_admin_key(self):
        first = run("seed_demo")[-1]
        second = run("seed_demo")[-1]
        assert first != second
        assert Organization.objects.filter(slug="demo").count() == 1
        response = APIClient(HTTP_X_API_KEY=second).get("/api/v1/organizations/me")
        assert (response.json()["slug"], response.json()["role"]) == ("demo", "admin")


@pytest.fixture
def staff_client(db, client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.mark.django_db
class TestAdminKeyForm:
    def test_creating_a_key_shows_it_once_and_stores_only_the_digest(self, staff_client, org_a):
        response = staff_client.post(
            "/admin/orgs/apikey/add/", {"organization": org_a.pk, "name": "airflow", "role": "write"}
        )
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        page = response.content.decode()
        created = ApiKey.objects.unscoped().get(name="airflow")
        start = page.index('value="dxp_') + len('value="')
        full_key = page[start : start + keys.KEY_LENGTH]
        assert full_key.startswith(f"dxp_{created.prefix}")
        assert created.digest == keys.digest_secret(full_key[len(keys.KEY_MARKER) + keys.PREFIX_LENGTH :])
        assert APIClient(HTTP_X_API_KEY=full_key).get("/api/v1/organizations/me").status_code == 200

        changelist = staff_client.get("/admin/orgs/apikey/").content.decode()
        assert f"dxp_{created.prefix}..." in changelist
        assert full_key not in changelist
        assert full_key not in staff_client.get(f"/admin/orgs/apikey/{created.pk}/change/").content.decode()
        assert full_key not in staff_client.get(f"/admin/orgs/organization/{org_a.pk}/change/").content.decode()

        from django.contrib.admin.models import LogEntry

        assert LogEntry.objects.filter(object_id=str(created.pk)).exists()

    def test_bulk_revoke_action(self, staff_client, org_a, make_key):
        full_key = make_key(org_a)
        ids = list(ApiKey.objects.unscoped().values_list("pk", flat=True))
        response = staff_client.post(
            "/admin/orgs/apikey/", {"action": "revoke_selected", "_selected_action": ids}, follow=True
        )
        assert "Revoked 1 API key(s)." in response.content.decode()
        assert APIClient(HTTP_X_API_KEY=full_key).get("/api/v1/organizations/me").status_code == 401

    def test_key_form_requires_a_name(self, staff_client, org_a):
        response = staff_client.post("/admin/orgs/apikey/add/", {"organization": org_a.pk, "role": "write"})
        assert response.status_code == 200
        assert "This field is required" in response.content.decode()
        assert not ApiKey.objects.unscoped().exists()
