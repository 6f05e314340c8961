"""docker-entrypoint.sh, run as the image runs it (no Docker engine here: the script itself, with this
virtualenv's python): the release step, migrating on start, the healthcheck, and a clear stop when a
required variable is missing."""

import json
import socket
import sqlite3
import subprocess
import time

import pytest
import requests

from tests.deployment.processes import (
    ENTRYPOINT,
    ROOT,
    entrypoint,
    environment,
    manage,
    production,
    requests_in_process,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def one_migration_pending(tmp_path):
    """A deployed database one release behind: every table but the sessions migration's."""
    path = tmp_path / "catalog.sqlite3"
    env = production(f"sqlite:///{path}")
    assert manage(env, "prepare_database").returncode == 0
    with sqlite3.connect(path) as database:
        database.execute("DELETE FROM django_migrations WHERE app = 'sessions'")
        database.execute("DROP TABLE django_session")
    return env


def test_release_applies_the_pending_migrations(one_migration_pending):
    env = one_migration_pending
    assert requests_in_process(env, "GET /ready")["GET /ready"]["status"] == 503

    released = entrypoint(env, "release")

    assert released.returncode == 0, released.stderr
    assert "Applying sessions.0001_initial... OK" in released.stdout
    assert json.loads(requests_in_process(env, "GET /ready")["GET /ready"]["body"])["status"] == "ready"


def test_serve_migrates_first_when_asked_and_its_probes_answer_the_container_address(one_migration_pending):
    port = free_port()
    env = {
        **one_migration_pending,
        "DATAXPIPE_MIGRATE_ON_START": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    server = subprocess.Popen(
        ["sh", str(ENTRYPOINT)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while entrypoint(env, "healthcheck").returncode != 0:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "gunicorn did not answer /health"
            time.sleep(0.5)
        # Requests addressed to 127.0.0.1:<port>, a Host that DJANGO_ALLOWED_HOSTS does not list.
        ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=10)
        assert (ready.status_code, ready.json()["status"]) == (200, "ready")
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/organizations/me", timeout=10).status_code == 400
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "DATAXPIPE_MIGRATE_ON_START=1: applying pending migrations" in output
    assert "Applying sessions.0001_initial... OK" in output
    stopped = entrypoint(env, "healthcheck")
    assert stopped.returncode != 0
    assert "unhealthy" in stopped.stderr


def test_serve_stops_with_one_clear_line_when_the_secret_key_is_missing(tmp_path):
    env = environment(DJANGO_ALLOWED_HOSTS="catalog.example.com", DATABASE_URL=f"sqlite:///{tmp_path}/c.sqlite3")

    result = entrypoint(env, "serve")

    assert result.returncode != 0
    assert "Configuration error: The environment variable DJANGO_SECRET_KEY is required." in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
