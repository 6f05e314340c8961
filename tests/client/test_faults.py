"""Retries, Retry-After, 202 polling and secrecy of the key, against a local server scripted to fail."""

import logging
import time

import pytest
from dataxpipe import ApiError, CheckExecutionTimeout, Client, ConfigurationError, RetryPolicy, TransportError
from dataxpipe.airflow import CatalogCallbacks

from tests.client.conftest import run_cli
from tests.client.fault_server import DROP, ScriptedServer

KEY = "dxp_fault_test_key_must_never_show_0123456789"
FAST = RetryPolicy(attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.05)
RUN = {"run_id": "r1", "pipeline_id": "orders", "status": "running"}


@pytest.fixture
def scripted():
    servers = []

    def start(*script):
        server = ScriptedServer(list(script))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def client_for(server, **options) -> Client:
    options.setdefault("retry", FAST)
    return Client(server.url, KEY, 5, **options)


def test_503_then_201_is_retried_with_the_same_run_id(scripted):
    server = scripted((503, {}, {"detail": "down"}), (201, {}, RUN))
    assert client_for(server).start_run("orders")["run_id"] == "r1"
    assert [seen.method for seen in server.seen] == ["POST", "POST"]
    first, second = (seen.body["run_id"] for seen in server.seen)
    assert first == second and first.startswith("run-")  # the replay names the same run: no second run


def test_a_dropped_connection_is_retried(scripted):
    server = scripted(DROP, (201, {}, RUN))
    assert client_for(server).run_event("orders", "running", "r1")["status"] == "running"
    assert len(server.seen) == 2


def test_429_honours_retry_after(scripted):
    server = scripted((429, {"Retry-After": "1"}, {"detail": "slow down"}), (200, {}, {"slug": "acme"}))
    began = time.monotonic()
    assert client_for(server).organization_me() == {"slug": "acme"}
    assert time.monotonic() - began >= 1.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_other_4xx_are_never_retried(scripted, status):
    server = scripted((status, {}, {"detail": "no"}), (201, {}, RUN))
    with pytest.raises(ApiError) as raised:
        client_for(server).run_event("orders", "running", "r1")
    assert raised.value.status == status and len(server.seen) == 1


def test_persistent_5xx_gives_up_after_the_attempts(scripted):
    server = scripted(*[(503, {}, {"detail": "down"})] * 4)
    with pytest.raises(ApiError) as raised:
        client_for(server).list_pipelines()
    assert raised.value.status == 503 and len(server.seen) == 4


def test_nobody_listening_is_a_transport_error(scripted):
    server = scripted()
    server.close()
    with pytest.raises(TransportError, match="no answer after 4 attempts"):
        client_for(server).list_pipelines()


def test_execute_answered_202_is_polled_until_done(scripted):
    result = {"result_id": "res-1", "check_id": "chk", "status": "fail", "severity": "error", "violations": 3}
    server = scripted(
        (202, {"Location": "/api/v1/checks/executions/ex-1"}, {"id": "ex-1", "state": "queued"}),
        (200, {}, {"id": "ex-1", "state": "running"}),
        (200, {}, {"id": "ex-1", "state": "done", "result": result}),
    )
    answer = client_for(server, poll_interval_seconds=0.01).execute_check("chk", connection_id="wh", sql="SELECT 1")
    assert answer == result
    assert [seen.path for seen in server.seen] == ["/api/v1/checks/execute"] + ["/api/v1/checks/executions/ex-1"] * 2


def test_polling_stops_at_the_timeout(scripted):
    server = scripted(
        (202, {"Location": "/api/v1/checks/executions/ex-2"}, None), *[(202, {}, {"state": "running"})] * 50
    )
    client = Client(server.url, KEY, 0.3, retry=FAST, poll_interval_seconds=0.05)
    with pytest.raises(CheckExecutionTimeout):
        client.execute_check("chk")


def test_a_location_on_another_host_is_not_followed(scripted):
    server = scripted((202, {"Location": "http://evil.example/api/v1/checks/executions/x"}, None))
    with pytest.raises(TransportError, match="another host"):
        client_for(server).execute_check("chk")
    assert len(server.seen) == 1


def test_a_catalog_under_a_path_prefix_is_polled_under_it(scripted):
    result = {"result_id": "res-3", "check_id": "chk", "status": "pass"}
    server = scripted(
        (202, {"Location": "/catalog/api/v1/checks/executions/ex-3?wait=1"}, None),
        (200, {}, {"id": "ex-3", "state": "done", "result": result}),
    )
    client = Client(server.url + "/catalog", KEY, 5, retry=FAST, poll_interval_seconds=0.01)
    assert client.execute_check("chk") == result
    assert [seen.path for seen in server.seen] == [
        "/catalog/api/v1/checks/execute",
        "/catalog/api/v1/checks/executions/ex-3?wait=1",
    ]


@pytest.mark.parametrize("location", ["/api/v1/checks/executions/x", "/catalogue/api/v1/checks/executions/x"])
def test_a_location_outside_the_path_prefix_is_not_followed(scripted, location):
    """Same host, another application: the key stays within the catalog's base URL (it was sliced into a
    made-up path under the prefix before)."""
    server = scripted((202, {"Location": location}, None))
    client = Client(server.url + "/catalog", KEY, 5, retry=FAST, poll_interval_seconds=0.01)
    with pytest.raises(TransportError, match="outside"):
        client.execute_check("chk")
    assert len(server.seen) == 1


def test_a_date_retry_after_while_polling_is_honoured(scripted):
    result = {"result_id": "res-4", "check_id": "chk", "status": "pass"}
    past = "Wed, 21 Oct 2015 07:28:00 GMT"  # a moment gone: poll again at once, not a ValueError
    server = scripted(
        (202, {"Location": "/api/v1/checks/executions/ex-4"}, None),
        (202, {"Retry-After": past}, {"state": "running"}),
        (200, {}, {"id": "ex-4", "state": "done", "result": result}),
    )
    started = time.monotonic()
    assert client_for(server, poll_interval_seconds=5).execute_check("chk") == result
    assert time.monotonic() - started < 2  # not the 5 s poll interval: the server said "now"


@pytest.mark.parametrize("body", [None, ["queued"], "accepted"])
def test_a_202_without_a_location_is_an_api_error(scripted, body):
    server = scripted((202, {}, body))
    with pytest.raises(ApiError) as raised:
        client_for(server).execute_check("chk")
    assert raised.value.status == 202 and len(server.seen) == 1


def test_a_redirect_is_not_followed_with_the_key(scripted):
    target = scripted((200, {}, {"slug": "stolen"}))
    server = scripted((302, {"Location": target.url + "/api/v1/organizations/me"}, None))
    with pytest.raises(ApiError) as raised:
        client_for(server).organization_me()
    assert raised.value.status == 302 and target.seen == []


def test_the_key_is_sent_but_never_printed_or_logged(scripted, caplog):
    server = scripted(*[(503, {"Retry-After": "0"}, {"detail": "down"})] * 9)  # 4 for the client, 5 for the CLI
    caplog.set_level(logging.DEBUG)
    client = client_for(server)
    with pytest.raises(ApiError) as raised:
        client.organization_me()
    assert server.seen[0].headers["x-api-key"] == KEY
    assert "retry 1" in caplog.text
    assert KEY not in caplog.text + str(raised.value) + repr(client) + repr(client.transport)
    cli = run_cli("--json", "whoami", env={"DATAXPIPE_URL": server.url, "DATAXPIPE_API_KEY": KEY})
    assert cli.returncode == 2 and KEY not in cli.stdout + cli.stderr


def test_airflow_callback_never_fails_the_task(scripted, caplog):
    server = scripted()
    server.close()
    callbacks = CatalogCallbacks(client=client_for(server))
    context = {"dag": type("Dag", (), {"dag_id": "orders"})(), "run_id": "manual__1"}
    assert callbacks.on_dag_failure(context) is None
    assert "could not record failed for run orders__manual__1" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "example.com"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(ConfigurationError, match="http"):
        Client(url, KEY, 5)


def test_a_bad_timeout_is_a_clear_configuration_error():
    cli = run_cli(
        "whoami",
        env={"DATAXPIPE_URL": "http://127.0.0.1:9", "DATAXPIPE_API_KEY": KEY, "DATAXPIPE_TIMEOUT_SECONDS": "soon"},
    )
    assert cli.returncode == 2 and "DATAXPIPE_TIMEOUT_SECONDS must be a number" in cli.stderr
