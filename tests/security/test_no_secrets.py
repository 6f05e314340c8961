"""The session-wide secret scan (recorder.py) is wired in and catches what it should.

The scan itself runs after every test of the suite (tests/conftest.py); these tests prove it is
installed, sees responses and log lines, and tells a leak from the one permitted display.
"""

import logging

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.security import recorder

pytestmark = pytest.mark.django_db


def test_recorder_is_installed_in_the_test_settings():
    assert settings.MIDDLEWARE[0] == "tests.security.recorder.RecordingMiddleware"
    assert "secret_recorder" in settings.LOGGING["root"]["handlers"]


def test_key_shown_once_at_creation_is_not_a_leak(client_a):
    created = client_a.post("/api/v1/api-keys/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    listed = client_a.get("/api/v1/api-keys/")
    assert key not in listed.content.decode()
    assert key in recorder._state.secrets  # born in this test, through orgs.keys.generate_key
    places = [place for place, _ in recorder._state.texts]
    assert any(place.startswith("response to POST /api/v1/api-keys/ (201)") for place in places)


def test_keys_and_dsn_passwords_in_log_lines_are_redacted(org_a, make_key):
    key = make_key(org_a)
    logging.getLogger("dataxpipe.test").warning("calling with %s to postgresql://u:Sup3rSecretPw@h/db", key)
    recorder.register("Sup3rSecretPw", "DSN password")
    texts = [text for place, text in recorder._state.texts if place.startswith("log")]
    assert any("[redacted]" in text for text in texts)
    assert recorder._scan(recorder._state.texts, {**recorder._state.secrets}) == []


def test_scan_reports_a_key_shown_twice_and_any_secret_in_a_log():
    key = "dxp_" + "A" * 48
    secrets = {key: "api key", "hunter2hunter2": "user password"}
    texts = [
        ("response to POST /api/v1/api-keys (201)", f'{{"key": "{key}"}}'),
        ("response to GET /admin/orgs/apikey/ (200)", f"<td>{key}</td>"),
        ("log record of 'x' (INFO)", "password hunter2hunter2"),
    ]
    leaks = recorder._scan(texts, secrets)
    assert len(leaks) == 2
    assert "shown again in response to GET /admin/orgs/apikey/" in leaks[0]
    assert "user password" in leaks[1] and "log record of 'x'" in leaks[1]


def test_oidc_tokens_and_resolved_secrets_are_registered(monkeypatch, org_a):
    from catalog.secrets import resolve_config

    monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_SECURITY_PW", "resolved-password-value")
    resolved = resolve_config({"password_secret": "env:DATAXPIPE_SECRET_ORG_A_SECURITY_PW"}, org_a)
    assert resolved["password"] == "resolved-password-value"
    assert recorder._state.secrets["resolved-password-value"].startswith("resolved secret")


def test_a_failed_login_does_not_echo_the_key(org_a):
    bad = "dxp_" + "Z" * 48
    recorder.register(bad, "api key")
    response = APIClient(HTTP_X_API_KEY=bad).get("/api/v1/pipelines")
    assert response.status_code == 401
    assert bad not in response.content.decode()
