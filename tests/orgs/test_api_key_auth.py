"""API-key authentication: each scheme, each bad credential, and what a key costs per request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from orgs import keys, services
from orgs.models import ApiKey, Role

ME = "/api/v1/organizations/me"


def _client(**headers):
    client = APIClient()
    client.credentials(**headers)
    return client


@pytest.mark.django_db
class TestSchemes:
    def test_x_api_key_header_reaches_its_organization(self, org_a, make_key):
        response = _client(HTTP_X_API_KEY=make_key(org_a, Role.READ)).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == "org-a"
        assert response.json()["role"] == "read"

    def test_bearer_api_key_as_openlineage_clients_send_it(self, org_a, make_key):
        response = _client(HTTP_AUTHORIZATION=f"Bearer {make_key(org_a, Role.WRITE)}").get(ME + "/")
        assert response.status_code == 200
        assert response.json()["slug"] == "org-a"

    def test_each_key_acts_for_its_own_organization(self, org_a, org_b, make_key):
        assert _client(HTTP_X_API_KEY=make_key(org_b)).get(ME).json()["slug"] == "org-b"


@pytest.mark.django_db
class TestBadCredentials:
    def test_no_credentials_is_401_with_www_authenticate(self):
        response = APIClient().get(ME)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(
        "presented",
        [
            "dxp_" + "A" * (keys.PREFIX_LENGTH + keys.SECRET_LENGTH),  # well-formed, unknown
            "dxp_short",
            "dxp_" + "!" * (keys.PREFIX_LENGTH + keys.SECRET_LENGTH),
            "not-a-key-at-all",
        ],
    )
    def test_unknown_or_malformed_key_is_401(self, db, presented):
        response = _client(HTTP_X_API_KEY=presented).get(ME)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}

    def test_right_prefix_wrong_secret_is_401(self, org_a, make_key):
        real = make_key(org_a)
        forged = real[: len(keys.KEY_MARKER) + keys.PREFIX_LENGTH] + "x" * keys.SECRET_LENGTH
        response = _client(HTTP_X_API_KEY=forged).get(ME)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}

    def test_revoked_key_is_401_with_the_same_message(self, org_a, make_key):
        full_key = make_key(org_a)
        services.revoke_api_keys(ApiKey.objects.unscoped().filter(organization=org_a))
        response = _client(HTTP_X_API_KEY=full_key).get(ME)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}

    def test_expired_key_is_401(self, org_a, make_key):
        full_key = make_key(org_a, expires_at=timezone.now() + timedelta(hours=1))
        ApiKey.objects.unscoped().filter(organization=org_a).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert _client(HTTP_X_API_KEY=full_key).get(ME).status_code == 401

    def test_key_of_deactivated_organization_is_401(self, org_a, make_key):
        full_key = make_key(org_a)
        org_a.is_active = False
        org_a.save()
        assert _client(HTTP_X_API_KEY=full_key).get(ME).status_code == 401

    def test_key_of_deleted_organization_is_401(self, org_a, make_key):
        full_key = make_key(org_a)
        org_a.delete()
        assert _client(HTTP_X_API_KEY=full_key).get(ME).status_code == 401

    def test_bearer_with_no_token_is_401(self, db):
        assert _client(HTTP_AUTHORIZATION="Bearer").get(ME).status_code == 401


@pytest.mark.django_db
class TestRoles:
    def test_read_key_cannot_write(self, org_a, make_key):
        response = _client(HTTP_X_API_KEY=make_key(org_a, Role.READ)).post(
            "/api/v1/api-keys/", {"name": "ci"}, format="json"
        )
        assert response.status_code == 403
        assert not ApiKey.objects.unscoped().filter(name="ci").exists()

    def test_write_key_cannot_do_admin_actions(self, org_a, make_key):
        response = _client(HTTP_X_API_KEY=make_key(org_a, Role.WRITE)).post(
            "/api/v1/api-keys/", {"name": "ci"}, format="json"
        )
        assert response.status_code == 403


@pytest.mark.django_db
class TestScaffoldKeys:
    @pytest.mark.parametrize(
        ("name", "role"), [("platform-key", "write"), ("admin-key", "admin"), ("dev-key", "write")]
    )
    def test_scaffold_keys_map_to_the_local_dev_organization_when_allowed(self, settings, name, role):
        settings.DATAXPIPE_ALLOW_SCAFFOLD_KEYS = True
        response = _client(HTTP_X_API_KEY=name).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == settings.DATAXPIPE_SCAFFOLD_ORG_SLUG
        assert response.json()["role"] == role

    @pytest.mark.parametrize("name", ["platform-key", "admin-key", "dev-key"])
    def test_scaffold_keys_are_refused_when_the_switch_is_off(self, settings, name):
        settings.DATAXPIPE_ALLOW_SCAFFOLD_KEYS = False
        for headers in ({"HTTP_X_API_KEY": name}, {"HTTP_AUTHORIZATION": f"Bearer {name}"}):
            response = _client(**headers).get(ME)
            assert response.status_code == 401
            assert response.json() == {"detail": "Invalid API key."}


@pytest.mark.django_db
class TestKeyCost:
    def test_verifying_a_key_is_one_indexed_query_once_last_use_is_fresh(
        self, org_a, make_key, django_assert_num_queries
    ):
        client = _client(HTTP_X_API_KEY=make_key(org_a))
        api_key = ApiKey.objects.unscoped().get(organization=org_a)
        url = f"/api/v1/api-keys/{api_key.pk}"
        assert client.get(url).status_code == 200  # first use writes last_used_at
        with django_assert_num_queries(2):  # the key lookup, then the object itself
            assert client.get(url).status_code == 200

    def test_last_used_at_is_written_at_most_once_a_minute(self, org_a, make_key, django_assert_num_queries):
        client = _client(HTTP_X_API_KEY=make_key(org_a))
        api_key = ApiKey.objects.unscoped().get(organization=org_a)
        url = f"/api/v1/api-keys/{api_key.pk}"
        client.get(url)
        first_use = ApiKey.objects.unscoped().get(pk=api_key.pk).last_used_at
        assert first_use is not None
        client.get(url)
        assert ApiKey.objects.unscoped().get(pk=api_key.pk).last_used_at == first_use
        stale = timezone.now() - timedelta(minutes=2)
        ApiKey.objects.unscoped().filter(pk=api_key.pk).update(last_used_at=stale)
        with django_assert_num_queries(3):  # lookup, last_used_at update, object
            client.get(url)
        assert ApiKey.objects.unscoped().get(pk=api_key.pk).last_used_at > stale

    def test_key_lookup_uses_the_unique_prefix_index(self, org_a, make_key):
        indexes = connection.introspection.get_constraints(connection.cursor(), ApiKey._meta.db_table)
        assert any(info["columns"] == ["prefix"] and info["unique"] for info in indexes.values())
