"""OIDC bearer tokens through mozilla-django-oidc, against a userinfo server started by the test.

The provider is a local HTTP server answering the OIDC userinfo call (GET with the bearer token)
as a real provider does: 200 with claims, or 401 with WWW-Authenticate. No network is used.
"""

import base64
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from orgs import services
from orgs.models import OIDCIdentity, Role
from orgs.oidc import configured_issuer

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


def link(user, subject):
    """Staff's link of a provider account to a user (tokens find users only through such links)."""
    services.link_oidc_identity(user=user, issuer=configured_issuer(), subject=subject)


@pytest.fixture
def member(db, org_a, provider):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com")
    services.add_member(organization=org_a, user=user, role=Role.WRITE)
    link(user, "ada")
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
        link(user, "rita")
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


_distinct = itertools.count()


def _token_for(provider, claims) -> str:
    # A distinct expiry per token: the backend caches userinfo per token.
    token = make_jwt(claims.get("sub", "none"), time.time() + 600 + next(_distinct))
    provider.tokens[token] = claims
    return token


@pytest.mark.django_db
class TestIdentityBySubject:
    """Red team: a token of another subject carrying a member's e-mail became that member."""

    def test_two_subjects_with_one_email_are_two_users(self, provider, member):
        intruder = _token_for(provider, {"sub": "mallory", "email": "ada@example.com"})
        assert bearer(intruder).get(ME).status_code == 403
        client = bearer(intruder)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {intruder}", HTTP_X_ORGANIZATION="org-a")
        assert client.get(ME).status_code == 403
        assert bearer(intruder).get("/api/v1/pipelines").status_code == 403

        mallory = OIDCIdentity.objects.get(subject="mallory").user
        assert mallory.pk != member.pk
        assert not mallory.memberships.exists()
        assert list(member.oidc_identities.values_list("subject", flat=True)) == ["ada"]
        # The member's own token still reaches the member's organization.
        response = bearer(_token_for(provider, {"sub": "ada", "email": "ada@example.com"})).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == "org-a"

    def test_an_unlinked_user_with_that_email_is_never_attached(self, provider, org_a):
        staff_made = get_user_model().objects.create_user(username="grace", email="grace@example.com")
        services.add_member(organization=org_a, user=staff_made, role=Role.ADMIN)
        token = _token_for(provider, {"sub": "g-123", "email": "grace@example.com", "email_verified": True})
        assert bearer(token).get(ME).status_code == 403
        assert not staff_made.oidc_identities.exists()
        assert OIDCIdentity.objects.get(subject="g-123").user.pk != staff_made.pk

    def test_a_new_subject_becomes_one_user_across_requests(self, provider, db):
        first = _token_for(provider, {"sub": "new-1", "email": "n@example.com"})
        second = make_jwt("new-1", time.time() + 900)
        provider.tokens[second] = {"sub": "new-1", "email": "n@example.com"}
        assert bearer(first).get(ME).status_code == 403
        assert bearer(second).get(ME).status_code == 403
        assert OIDCIdentity.objects.filter(subject="new-1").count() == 1
        assert get_user_model().objects.filter(email="n@example.com").count() == 1

    def test_the_link_survives_an_email_change(self, provider, member):
        token = _token_for(provider, {"sub": "ada", "email": "ada.lovelace@example.org"})
        response = bearer(token).get(ME)
        assert response.status_code == 200
        assert response.json()["slug"] == "org-a"

    def test_without_user_creation_an_unknown_subject_is_401(self, provider, member, settings):
        settings.OIDC_CREATE_USER = False
        stranger = _token_for(provider, {"sub": "stranger", "email": "ada@example.com"})
        assert bearer(stranger).get(ME).status_code == 401
        assert not OIDCIdentity.objects.filter(subject="stranger").exists()
        assert bearer(_token_for(provider, {"sub": "ada"})).get(ME).status_code == 200

    def test_userinfo_without_a_subject_is_401(self, provider, member):
        assert bearer(_token_for(provider, {"email": "ada@example.com"})).get(ME).status_code == 401
        assert bearer(_token_for(provider, {"sub": "", "email": "ada@example.com"})).get(ME).status_code == 401
        assert bearer(_token_for(provider, {"sub": "x" * 256})).get(ME).status_code == 401

    def test_issuer_is_the_configured_one(self, provider, member, settings):
        """A subject is unique per issuer only: another issuer's `ada` is another account."""
        settings.OIDC_OP_ISSUER = "https://idp.example.com"
        other = _token_for(provider, {"sub": "ada", "iss": "https://idp.example.com", "email": "ada@example.com"})
        assert bearer(other).get(ME).status_code == 403
        created = OIDCIdentity.objects.get(subject="ada", issuer="https://idp.example.com").user
        assert created.pk != member.pk
        contradicting = _token_for(provider, {"sub": "ada", "iss": "https://evil.example.com"})
        assert bearer(contradicting).get(ME).status_code == 401

    def test_staff_link_an_account_through_the_admin(self, provider, org_a, client):
        user = get_user_model().objects.create_user(username="lin", email="lin@example.com")
        services.add_member(organization=org_a, user=user, role=Role.READ)
        token = _token_for(provider, {"sub": "lin-sub", "email": "lin@example.com"})
        client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
        form = client.get("/admin/orgs/oidcidentity/add/")
        assert form.status_code == 200
        assert configured_issuer() in form.content.decode()
        response = client.post(
            "/admin/orgs/oidcidentity/add/", {"user": user.pk, "issuer": configured_issuer(), "subject": "lin-sub"}
        )
        assert response.status_code == 302, response.content.decode()[:500]
        assert bearer(token).get(ME).json()["slug"] == "org-a"
        duplicate = client.post(
            "/admin/orgs/oidcidentity/add/", {"user": user.pk, "issuer": configured_issuer(), "subject": "lin-sub"}
        )
        assert duplicate.status_code == 200
        assert "already exists" in duplicate.content.decode()

    def test_organization_admins_cannot_link_accounts(self, provider, org_a, client):
        org_admin = get_user_model().objects.create_user(username="oa", email="oa@example.com", is_staff=True)
        services.add_member(organization=org_a, user=org_admin, role=Role.ADMIN)
        client.force_login(org_admin)
        response = client.post(
            "/admin/orgs/oidcidentity/add/", {"user": org_admin.pk, "issuer": configured_issuer(), "subject": "x"}
        )
        assert response.status_code == 403
        assert not OIDCIdentity.objects.exists()
