"""PostgreSQL stopped under a running gunicorn: probes, clear 503s, no partial writes, recovery.

Uses a private PostgreSQL server started by the test (stopping the machine's would disturb other tests).
"""

import time

import pytest
import requests

from tests.system.servers import Gunicorn, PrivatePostgres, create_schema, manage, postgres_bin_dir, server_env

pytestmark = pytest.mark.skipif(postgres_bin_dir() is None, reason="needs PostgreSQL's server binaries (initdb)")


@pytest.fixture(scope="module")
def stack():
    database = PrivatePostgres()
    database.start()
    env = server_env(database.url)
    create_schema(env)
    manage(env, "create_org", "outage")
    admin_key = manage(env, "create_api_key", "outage", "ops", "--role", "admin").strip().splitlines()[-1]
    server = Gunicorn(env)
    yield database, server, admin_key
    server.stop()
    database.destroy()


def key_count(server, admin_key) -> int:
    response = requests.get(server.url + "/api/v1/api-keys/", headers={"X-API-KEY": admin_key}, timeout=5)
    assert response.status_code == 200
    return response.json()["count"]


def test_outage_and_recovery_without_restart(stack):
    database, server, admin_key = stack
    headers = {"X-API-KEY": admin_key}
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200
    before = key_count(server, admin_key)
    workers = server.worker_pids()

    database.stop()
    try:
        ready = requests.get(server.url + "/ready", timeout=2)  # a hung probe would raise here
        assert ready.status_code == 503
        assert "database unreachable" in ready.json()["reason"]
        assert requests.get(server.url + "/health", timeout=2).status_code == 200
        write = requests.post(
            server.url + "/api/v1/api-keys/", json={"name": "during-outage"}, headers=headers, timeout=5
        )
        assert write.status_code == 503
        assert write.json()["code"] == "database_unavailable"
        assert write.headers["Retry-After"]
    finally:
        database.start()

    deadline = time.monotonic() + 20
    while requests.get(server.url + "/ready", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover after PostgreSQL came back"
        time.sleep(0.2)
    assert server.worker_pids() == workers  # recovered by the same processes: nothing was restarted
    assert key_count(server, admin_key) == before  # nothing half-written during the outage
    created = requests.post(server.url + "/api/v1/api-keys/", json={"name": "after"}, headers=headers, timeout=5)
    assert created.status_code == 201
    assert key_count(server, admin_key) == before + 1
