"""Red team: `/admin/login/` had no throttle or lockout; gunicorn instances on one host shared one
control socket.

Admin sign-in goes through django-axes (settings AXES_*): after DATAXPIPE_LOGIN_FAILURE_LIMIT
(5) failures for one username from one address, that pair is refused for
DATAXPIPE_LOGIN_COOLOFF_MINUTES (15), even with the right password, with a 429 page that says so;
other users and other addresses are unaffected, a success resets the count, and API keys and OIDC
bearer tokens (DRF authenticators that never call django's authenticate()) are never counted.
The gunicorn tests start real gunicorn processes from config/gunicorn.conf.py.
"""

import json
import os
import stat
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orgs import services
from orgs.models import Role
from tests.orgs.test_oidc import UserinfoProvider, link, make_jwt
from tests.system.servers import ROOT, Gunicorn, server_env

LOGIN = "/admin/login/"
PASSWORD = "right-password-for-tests-9d7"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each failure checks a password: PBKDF2's deliberate cost would make this file crawl.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", "root@x.example", PASSWORD)


def attempt(username, password, ip="10.0.0.1", client=None, **headers):
    client = client or Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)
    return client, response


def signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def fail(times, username="root", ip="10.0.0.1", **headers):
    """`times` wrong passwords: the form again each time, the lockout page from the limit-th on."""
    from django.conf import settings

    for n in range(1, times + 1):
        _, response = attempt(username, f"wrong-{n}", ip, **headers)
        expected = 429 if n >= settings.AXES_FAILURE_LIMIT else 200
        assert response.status_code == expected, f"failure {n} answered {response.status_code}"


@pytest.mark.django_db
class TestAdminLoginLockout:
    def test_five_failures_lock_out_even_the_right_password(self, staff):
        fail(5)
        client, response = attempt("root", PASSWORD)
        assert response.status_code == 429
        page = response.content.decode()
        assert "Too many failed sign-in attempts" in page
        assert "0:15:00" in page
        assert not response.wsgi_request.user.is_authenticated
        assert client.get("/admin/").status_code == 302  # still sent to the sign-in page

    def test_a_wrong_password_during_the_lockout_is_refused_the_same_way(self, staff):
        fail(5)
        assert attempt("root", "wrong-again")[1].status_code == 429

    def test_four_failures_still_let_the_owner_in(self, staff):
        fail(4)
        assert signed_in(attempt("root", PASSWORD)[1])

    def test_another_user_and_another_address_are_unaffected(self, staff):
        get_user_model().objects.create_superuser("ops", "ops@x.example", PASSWORD)
        fail(5)
        assert signed_in(attempt("ops", PASSWORD, ip="10.0.0.1")[1])
        assert signed_in(attempt("root", PASSWORD, ip="10.0.0.2")[1])
        assert attempt("root", PASSWORD, ip="10.0.0.1")[1].status_code == 429

    def test_a_success_resets_the_count(self, staff):
        fail(4)
        assert signed_in(attempt("root", PASSWORD)[1])
        fail(4)
        assert signed_in(attempt("root", PASSWORD)[1])

    def test_the_lockout_ends_after_the_cool_off(self, staff):
        fail(5)
        assert attempt("root", PASSWORD)[1].status_code == 429
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
        assert signed_in(attempt("root", PASSWORD)[1])

    def test_limits_come_from_settings(self, staff, settings):
        settings.AXES_FAILURE_LIMIT = 2
        fail(2)
        assert attempt("root", PASSWORD)[1].status_code == 429

    def test_unknown_usernames_are_throttled_too(self, db):
        fail(5, username="nobody")
        assert attempt("nobody", "x")[1].status_code == 429


@pytest.mark.django_db
class TestBehindAProxy:
    def test_forged_forwarded_entries_do_not_give_fresh_addresses(self, staff, settings):
        settings.DATAXPIPE_TRUSTED_PROXY_COUNT = 1
        for n in range(1, 6):
            # The proxy (REMOTE_ADDR) appends the address it saw; the left part is the attacker's own text.
            _, response = attempt("root", "wrong", ip="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7")
            assert response.status_code == (429 if n == 5 else 200)
        locked = attempt("root", PASSWORD, ip="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.7")
        assert locked[1].status_code == 429
        # Another client behind the same proxy is another address.
        other = attempt("root", PASSWORD, ip="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
        assert signed_in(other[1])


@pytest.mark.django_db
class TestApiAuthenticationIsNotThrottledByAxes:
    def test_api_keys_work_from_a_locked_out_address(self, staff, org_a, make_key):
        fail(5, ip="127.0.0.1")
        key = make_key(org_a)
        for header in ({"HTTP_X_API_KEY": key}, {"HTTP_AUTHORIZATION": f"Bearer {key}"}):
            client = APIClient()
            client.credentials(**header)
            assert client.get("/api/v1/organizations/me", REMOTE_ADDR="127.0.0.1").status_code == 200

    def test_bad_api_keys_are_not_login_failures(self, staff):
        before = AccessAttempt.objects.count()
        client = APIClient()
        for n in range(10):
            client.credentials(HTTP_X_API_KEY=f"dxp_{'x' * 8}{n}{'y' * 39}")
            assert client.get("/api/v1/organizations/me").status_code == 401
        assert AccessAttempt.objects.count() == before
        assert signed_in(attempt("root", PASSWORD)[1])

    def test_oidc_bearer_tokens_are_untouched_by_a_lockout(self, settings, org_a):
        provider = UserinfoProvider()
        try:
            settings.OIDC_ENABLED = True
            settings.OIDC_OP_USER_ENDPOINT = provider.url
            user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
            services.add_member(organization=org_a, user=user, role=Role.READ)
            link(user, "ada")
            fail(5, username="ada", ip="127.0.0.1")
            token = make_jwt("ada", time.time() + 600)
            provider.tokens[token] = {"sub": "ada", "email": "ada@example.com"}
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            assert client.get("/api/v1/organizations/me", REMOTE_ADDR="127.0.0.1").status_code == 200
        finally:
            provider.close()


# --- gunicorn's control socket -------------------------------------------------------------------


@pytest.fixture
def host_env(tmp_path):
    """Two instances as on one host: the same user, the same HOME, no XDG_RUNTIME_DIR."""
    home = tmp_path / "home"
    home.mkdir()
    env = server_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", HOME=str(home))
    env.pop("XDG_RUNTIME_DIR", None)
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    return env, home


def gunicornc(socket_path, command, env) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn.ctl.cli", "-s", str(socket_path), "-c", command, "-j"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr[-500:]
    return json.loads(result.stdout)


def test_instances_open_no_shared_control_socket_by_default(host_env):
    env, home = host_env
    first, second = Gunicorn(env), Gunicorn(env)
    try:
        assert not (home / ".gunicorn" / "gunicorn.ctl").exists()
        assert not any(path.is_socket() for path in home.rglob("*"))
    finally:
        first.stop()
        second.stop()


def test_each_instance_gets_its_own_socket_when_asked(host_env, tmp_path):
    env, _ = host_env
    sockets = [tmp_path / "a.ctl", tmp_path / "b.ctl"]
    servers = [Gunicorn({**env, "GUNICORN_CONTROL_SOCKET": str(path)}) for path in sockets]
    try:
        for path, server in zip(sockets, servers, strict=True):
            deadline = time.monotonic() + 10
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            listeners = json.dumps(gunicornc(path, "show listeners", env))
            assert f":{server.port}" in listeners
            assert all(f":{other.port}" not in listeners for other in servers if other is not server)
    finally:
        for server in servers:
            server.stop()
