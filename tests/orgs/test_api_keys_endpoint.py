"""Creating, listing and revoking keys through the API: the key is shown once and stored only as a digest."""

import logging

import pytest
from django.db import connection

from orgs import keys
from orgs.models import ApiKey, Role


@pytest.mark.django_db
class TestCreateKey:
    def test_full_key_is_returned_once_and_authenticates(self, client_a, make_client, org_a):
        response = client_a.post("/api/v1/api-keys/", {"name": "airflow", "role": "write"}, format="json")
        assert response.status_code == 201
        full_key = response.json()["key"]
        assert full_key.startswith("dxp_") and len(full_key) == keys.KEY_LENGTH
        assert response.json()["masked"] == full_key[:12] + "..."

        listing = client_a.get("/api/v1/api-keys/")
        assert full_key not in listing.content.decode()
        detail = client_a.get(f"/api/v1/api-keys/{response.json()['id']}/")
        assert "key" not in detail.json()

        from rest_framework.test import APIClient

        new_client = APIClient()
        new_client.credentials(HTTP_X_API_KEY=full_key)
        assert new_client.get("/api/v1/organizations/me").json()["role"] == "write"

    def test_response_holding_the_key_is_not_cacheable(self, client_a):
        response = client_a.post("/api/v1/api-keys", {"name": "airflow"}, format="json")
        assert response.status_code == 201
        assert response["Cache-Control"] == "no-store"

    def test_stored_row_contains_neither_the_key_nor_its_secret(self, client_a):
        full_key = client_a.post("/api/v1/api-keys/", {"name": "airflow"}, format="json").json()["key"]
        secret = full_key[len(keys.KEY_MARKER) + keys.PREFIX_LENGTH :]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
            stored = repr(cursor.fetchall())
        assert full_key not in stored
        assert secret not in stored
        assert keys.digest_secret(secret) in stored

    def test_key_never_reaches_a_log_record(self, client_a, caplog):
        caplog.set_level(logging.DEBUG)
        full_key = client_a.post("/api/v1/api-keys/", {"name": "airflow"}, format="json").json()["key"]
        from rest_framework.test import APIClient

        APIClient(HTTP_X_API_KEY=full_key).get("/api/v1/organizations/me")
        secret = full_key[len(keys.KEY_MARKER) + keys.PREFIX_LENGTH :]
        assert all(secret not in record.getMessage() for record in caplog.records)

    @pytest.mark.parametrize(
        ("body", "field"),
        [({}, "name"), ({"name": "x", "role": "owner"}, "role"), ({"name": "x", "expires_at": "soon"}, "expires_at")],
    )
    def test_bad_input_is_400_with_field_messages(self, client_a, body, field):
        response = client_a.post("/api/v1/api-keys/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert ApiKey.objects.unscoped().filter(name="x").count() == 0

    def test_malformed_json_is_400(self, client_a):
        response = client_a.post("/api/v1/api-keys/", data="{not json", content_type="application/json")
        assert response.status_code == 400
        assert "JSON" in response.json()["detail"]

    def test_server_owned_fields_cannot_be_set(self, client_a, org_b):
        response = client_a.post(
            "/api/v1/api-keys/",
            {"name": "sneaky", "organization": org_b.pk, "prefix": "AAAAAAAA", "digest": "0" * 64, "revoked_at": None},
            format="json",
        )
        assert response.status_code == 201
        created = ApiKey.objects.unscoped().get(name="sneaky")
        assert created.organization.slug == "org-a"
        assert created.prefix != "AAAAAAAA" and created.digest != "0" * 64

    def test_body_over_the_limit_is_413(self, client_a, settings):
        response = client_a.post(
            "/api/v1/api-keys/",
            data='{"name": "' + "x" * (settings.DATAXPIPE_MAX_BODY_BYTES + 1) + '"}',
            content_type="application/json",
        )
        assert response.status_code == 413
        assert not ApiKey.objects.unscoped().filter(name__startswith="xxx").exists()


@pytest.mark.django_db
class TestTenancy:
    def test_other_organizations_keys_are_404_and_unlisted(self, client_a, client_b, org_a):
        key_of_a = ApiKey.objects.unscoped().filter(organization=org_a).first()
        assert client_b.get(f"/api/v1/api-keys/{key_of_a.pk}").status_code == 404
        assert client_b.post(f"/api/v1/api-keys/{key_of_a.pk}/revoke").status_code == 404
        listed = {item["id"] for item in client_b.get("/api/v1/api-keys/").json()["results"]}
        assert key_of_a.pk not in listed
        assert ApiKey.objects.unscoped().get(pk=key_of_a.pk).revoked_at is None

    def test_revoke_stops_the_key(self, client_a, make_key, org_a):
        victim = make_key(org_a, Role.READ)
        victim_row = ApiKey.objects.unscoped().get(organization=org_a, role=Role.READ)
        assert client_a.post(f"/api/v1/api-keys/{victim_row.pk}/revoke/").json()["state"] == "revoked"
        from rest_framework.test import APIClient

        assert APIClient(HTTP_X_API_KEY=victim).get("/api/v1/organizations/me").status_code == 401


def test_a_view_that_overrides_get_queryset_is_refused_at_import():
    from orgs.viewsets import OrganizationScopedViewSet

    with pytest.raises(TypeError, match="organization scoping"):

        class Leaky(OrganizationScopedViewSet):
            def get_queryset(self):
                return ApiKey.objects.unscoped()
