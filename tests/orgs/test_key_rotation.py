"""Rotating the pepper (by default DJANGO_SECRET_KEY) keeps API keys working: fallbacks verify, then re-digest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orgs import keys
from orgs.models import ApiKey, Role

OLD_PEPPER = "old-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
NEW_PEPPER = "new-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
UNRELATED_PEPPER = "other-pepper-0123456789abcdefghijklmnopqrstuvw"
REPO = Path(__file__).resolve().parents[2]


def _secret(full_key: str) -> str:
    return full_key[len(keys.KEY_MARKER) + keys.PREFIX_LENGTH :]


@pytest.fixture
def key_made_under_old_pepper(settings, org_a, make_key):
    """A key created (and used once, so last_used_at is fresh) before the rotation."""
    settings.DATAXPIPE_API_KEY_PEPPER = OLD_PEPPER
    settings.DATAXPIPE_API_KEY_PEPPER_FALLBACKS = []
    full_key = make_key(org_a, Role.ADMIN)
    api_key = ApiKey.objects.unscoped().get(organization=org_a)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=full_key)
    assert _read_own_key(client, api_key).status_code == 200
    return full_key, api_key, client


def _read_own_key(client, api_key):
    """GET /api-keys/{id}: the key lookup, then the row itself (2 queries on the happy path)."""
    return client.get(f"/api/v1/api-keys/{api_key.pk}")


def _rotate(settings, fallbacks):
    settings.DATAXPIPE_API_KEY_PEPPER = NEW_PEPPER
    settings.DATAXPIPE_API_KEY_PEPPER_FALLBACKS = fallbacks


@pytest.mark.django_db
class TestRotation:
    def test_a_key_of_the_old_pepper_works_and_is_re_digested_with_one_update(
        self, settings, key_made_under_old_pepper, django_assert_num_queries
    ):
        full_key, api_key, client = key_made_under_old_pepper
        assert api_key.digest == keys._digest(OLD_PEPPER, _secret(full_key))
        _rotate(settings, [OLD_PEPPER])
        with django_assert_num_queries(3):  # the key lookup, the digest UPDATE, the key's row
            response = _read_own_key(client, api_key)
        assert response.status_code == 200
        assert response.json()["id"] == api_key.pk
        assert ApiKey.objects.unscoped().get(pk=api_key.pk).digest == keys._digest(NEW_PEPPER, _secret(full_key))

    def test_once_re_digested_the_happy_path_is_one_query_again(
        self, settings, key_made_under_old_pepper, django_assert_num_queries
    ):
        _, api_key, client = key_made_under_old_pepper
        _rotate(settings, [OLD_PEPPER])
        _read_own_key(client, api_key)
        with django_assert_num_queries(2):  # the key lookup, the key's row: no write
            assert _read_own_key(client, api_key).status_code == 200

    def test_after_the_fallback_is_dropped_the_re_digested_key_still_works(self, settings, key_made_under_old_pepper):
        _, _, client = key_made_under_old_pepper
        _rotate(settings, [OLD_PEPPER])
        assert client.get("/api/v1/organizations/me").status_code == 200
        _rotate(settings, [])
        assert client.get("/api/v1/organizations/me").status_code == 200

    def test_a_key_never_used_during_the_rotation_stops_working_without_its_fallback(
        self, settings, key_made_under_old_pepper
    ):
        _, _, client = key_made_under_old_pepper
        _rotate(settings, [])
        response = client.get("/api/v1/organizations/me")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}

    def test_a_key_digested_under_an_unrelated_pepper_fails_and_is_not_rewritten(
        self, settings, key_made_under_old_pepper
    ):
        full_key, api_key, client = key_made_under_old_pepper
        ApiKey.objects.unscoped().filter(pk=api_key.pk).update(digest=keys._digest(UNRELATED_PEPPER, _secret(full_key)))
        _rotate(settings, [OLD_PEPPER])
        response = client.get("/api/v1/organizations/me")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}
        assert ApiKey.objects.unscoped().get(pk=api_key.pk).digest == keys._digest(UNRELATED_PEPPER, _secret(full_key))

    def test_a_revoked_key_stays_refused_and_keeps_its_old_digest(self, settings, key_made_under_old_pepper):
        full_key, api_key, client = key_made_under_old_pepper
        ApiKey.objects.unscoped().filter(pk=api_key.pk).update(revoked_at=timezone.now())
        _rotate(settings, [OLD_PEPPER])
        assert client.get("/api/v1/organizations/me").status_code == 401
        assert ApiKey.objects.unscoped().get(pk=api_key.pk).digest == keys._digest(OLD_PEPPER, _secret(full_key))


def _settings_under(env: dict) -> dict:
    """config.settings as a fresh process reads them from this environment."""
    code = (
        "import json; from config import settings as s; "
        "print(json.dumps([s.DATAXPIPE_API_KEY_PEPPER, s.DATAXPIPE_API_KEY_PEPPER_FALLBACKS]))"
    )
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATAXPIPE_"))}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_DEBUG": "1", **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pepper, fallbacks = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"pepper": pepper, "fallbacks": fallbacks}


def test_rotating_the_secret_key_as_documented_makes_the_old_one_a_pepper_fallback():
    found = _settings_under({"DJANGO_SECRET_KEY": NEW_PEPPER, "DJANGO_SECRET_KEY_FALLBACKS": OLD_PEPPER})
    assert found == {"pepper": NEW_PEPPER, "fallbacks": [OLD_PEPPER]}


def test_an_explicit_pepper_has_its_own_fallbacks_and_ignores_the_secret_keys():
    found = _settings_under(
        {
            "DJANGO_SECRET_KEY": "secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_SECRET_KEY_FALLBACKS": "older-secret-key-0123456789abcdefghijklmnopqrs",
            "DATAXPIPE_API_KEY_PEPPER": NEW_PEPPER,
        }
    )
    assert found == {"pepper": NEW_PEPPER, "fallbacks": []}
    found = _settings_under({"DATAXPIPE_API_KEY_PEPPER": NEW_PEPPER, "DATAXPIPE_API_KEY_PEPPER_FALLBACKS": OLD_PEPPER})
    assert found == {"pepper": NEW_PEPPER, "fallbacks": [OLD_PEPPER]}
