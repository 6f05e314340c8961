"""OIDC bearer tokens through mozilla-django-oidc, against a userinfo server started by the test.

The provider is a local HTTP server answering the OIDC userinfo call (GET with the bearer token)
as a real provider does: 200 with claims, or 401 with WWW-Authenticate. No network is used.
"""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from orgs import services
from orgs.models import Role

ME = "/api/v1/organizations/me"


def make_jwt(sub: str, exp: float) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'sub': sub, 'exp': int(exp)})}.signature"


class UserinfoProvider:
    def __init__(self):
        self.tokens: dict[str, dict] = {}
        self.calls = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider.calls += 1
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                claims = provider.tokens.get(token)
                if claims is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Bearer error="invalid_token", error_description="bad token"')
                    self.end_headers()
                    return
                body = json.dumps(claims).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/userinfo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    server = UserinfoProvider()
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_USER_ENDPOINT = server.url
    yield server
    server.close()


@pytest.fixture
def member(db, org_a):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com")
    services.add_member(organization=org_a, user=user, role=Role.WRITE)
    return user


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db
class TestOidc:
    def test_member_reaches_their_organization_with_their_role(self, provider, member):
        token = make_jwt("ada", time.time() + 600)
        provider.tokens[token] = {"sub": "ada", "email": "ada@example.com"}
        response = bearer(token).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == "org-a"
        assert response.json()["role"] == "write"

    def test_userinfo_is_cached_per_token_across_a_burst(self, provider, member):
        token = make_jwt("ada", time.time() + 600)
        provider.tokens[token] = {"sub": "ada", "email": "ada@example.com"}
        client = bearer(token)
        for _ in range(10):
            assert client.get(ME).status_code == 200
        assert provider.calls == 1
        other = make_jwt("ada", time.time() + 601)
        provider.tokens[other] = {"sub": "ada", "email": "ada@example.com"}
        assert bearer(other).get(ME).status_code == 200
        assert provider.calls == 2

    def test_token_the_provider_rejects_is_401(self, provider, member):
        response = bearer(make_jwt("ada", time.time() + 600)).get(ME)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response

    def test_expired_token_is_401_without_asking_the_provider(self, provider, member):
        token = make_jwt("ada", time.time() - 5)
        provider.tokens[token] = {"sub": "ada", "email": "ada@example.com"}
        assert bearer(token).get(ME).status_code == 401
        assert provider.calls == 0

    def test_user_without_membership_is_refused(self, provider, db):
        token = make_jwt("bob", time.time() + 600)
        provider.tokens[token] = {"sub": "bob", "email": "bob@example.com"}
        assert bearer(token).get(ME).status_code == 403

    def test_user_in_two_organizations_names_one(self, provider, member, org_b):
        services.add_member(organization=org_b, user=member, role=Role.READ)
        token = make_jwt("ada", time.time() + 600)
        provider.tokens[token] = {"sub": "ada", "email": "ada@example.com"}
        assert bearer(token).get(ME).status_code == 403
        client = bearer(token)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_ORGANIZATION="org-b")
        response = client.get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == "org-b"
        assert response.json()["role"] == "read"

    def test_read_member_cannot_write(self, provider, db, org_a):
        user = get_user_model().objects.create_user(username="rita", email="rita@example.com")
        services.add_member(organization=org_a, user=user, role=Role.READ)
        token = make_jwt("rita", time.time() + 600)
        provider.tokens[token] = {"sub": "rita", "email": "rita@example.com"}
        assert bearer(token).post("/api/v1/api-keys/", {"name": "x"}, format="json").status_code == 403

    def test_api_keys_in_bearer_never_reach_the_provider(self, provider, org_a, make_key):
        assert bearer(make_key(org_a)).get(ME).status_code == 200
        assert provider.calls == 0

    def test_provider_down_is_503_not_500(self, settings, member):
        settings.OIDC_ENABLED = True
        settings.OIDC_OP_USER_ENDPOINT = "http://127.0.0.1:9/userinfo"
        response = bearer(make_jwt("ada", time.time() + 600)).get(ME)
        assert response.status_code == 503

    def test_jwt_is_401_when_oidc_is_not_configured(self, settings, member):
        settings.OIDC_ENABLED = False
        assert bearer(make_jwt("ada", time.time() + 600)).get(ME).status_code == 401
