"""Attacks on the URL of a webhook or Slack rule that the other files do not make: a DNS name whose answer turns
internal between save and delivery (rebinding), a second resolution between the check and the connection,
header injection through the URL, and the URL's token reaching a refusal or a recorded attempt."""

import socket
import threading
import time

import pytest

from alerts import http_egress, sweep
from alerts.models import AlertRule, DeliveryAttempt

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-hook-token"


@pytest.fixture
def dns(monkeypatch):
    """answers[name]: the addresses each resolution of `name` gets in turn (the last one repeats; an empty list
    is a name with no address). Every other name resolves as usual."""
    answers: dict[str, list[list[str]]] = {}
    calls: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        turn = answers[host]
        addresses = turn[min(calls.get(host, 0), len(turn) - 1)]
        calls[host] = calls.get(host, 0) + 1
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def rule(url, destination_type="webhook"):
    return {"name": "hook", "events": ["run_failed"], "destination": {"type": destination_type, "url": url}}


@pytest.mark.parametrize("destination_type", ["webhook", "slack"])
def test_a_name_rebound_to_an_internal_address_after_save_is_refused_at_delivery(
    admin_client, org_a, dns, pipeline_of, fail_run, destination_type
):
    dns["hooks.rebind.example"] = [["93.184.216.34"], ["127.0.0.1"]]
    created = admin_client(org_a).post(
        "/api/v1/alerts/", rule(f"https://hooks.rebind.example/hook?token={TOKEN}", destination_type), format="json"
    )
    assert created.status_code == 201, created.content

    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()

    attempt = DeliveryAttempt.objects.unscoped().get()
    assert not attempt.succeeded and attempt.status_code is None
    assert "egress policy" in attempt.error and "loopback" in attempt.error
    assert TOKEN not in attempt.error


def test_a_name_resolving_internal_at_save_is_refused_and_the_refusal_shows_no_token(admin_client, org_a, dns):
    dns["hooks.internal.example"] = [["10.1.2.3"]]
    response = admin_client(org_a).post(
        "/api/v1/alerts/", rule(f"https://hooks.internal.example/hook?token={TOKEN}"), format="json"
    )
    assert response.status_code == 400, response.content
    assert "private-network" in str(response.json()["destination"])
    assert TOKEN not in response.content.decode()
    assert not AlertRule.objects.unscoped().exists()


def test_the_request_goes_to_the_checked_address_without_resolving_the_name_again(
    admin_client, org_a, dns, make_sink, loopback_allowed, pipeline_of, fail_run
):
    """The name resolves once at save and once at the attempt's check; a third resolution (the HTTP client's
    own, where a rebinding answer would win) finds nothing, so the request arrives only if it was not made."""
    sink = make_sink()
    port = sink.server.server_address[1]
    dns["hooks.pinned.example"] = [["127.0.0.1"], ["127.0.0.1"], []]
    created = admin_client(org_a).post(
        "/api/v1/alerts/", rule(f"http://hooks.pinned.example:{port}/hook"), format="json"
    )
    assert created.status_code == 201, created.content

    fail_run(org_a, pipeline_of(org_a), "run-1")
    sweep.run()

    [request] = sink.received
    assert request.headers["Host"] == f"hooks.pinned.example:{port}"
    assert DeliveryAttempt.objects.unscoped().get().status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a\r\nX-Injected: 1",
        "https://hooks.example.com/a\nHost: 127.0.0.1",
        "https://hooks.example.com/a b HTTP/1.1",
        "https://hooks.example.com\r\n/a",
    ],
)
def test_header_injection_through_the_url_is_refused(admin_client, org_a, dns, url):
    dns["hooks.example.com"] = [["93.184.216.34"]]  # a public receiver: only the URL's shape is at fault
    response = admin_client(org_a).post("/api/v1/alerts/", rule(url), format="json")
    assert response.status_code == 400, response.content
    assert "destination" in response.json()
    assert not AlertRule.objects.unscoped().exists()


def test_a_receiver_that_trickles_its_answer_cannot_hold_the_worker_past_the_attempts_deadline(
    loopback_allowed, monkeypatch
):
    """Each byte comes within the read timeout, so only a deadline for the whole attempt ends it: the attempt is
    a failure recorded in seconds, not a worker held for as long as the receiver likes (then a second worker
    taking the same alert when its claim lapses)."""
    monkeypatch.setattr(http_egress, "READ_TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(http_egress, "ATTEMPT_DEADLINE_SECONDS", 2)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    checked = http_egress.check_url(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")

    started = time.monotonic()
    outcome = http_egress.post_json(checked, b"{}", {})
    took = time.monotonic() - started

    stop.set()
    listener.close()
    assert took < 5, f"the attempt lasted {took:.1f} s"
    assert outcome.status_code is None and not outcome.succeeded
    assert outcome.error == "no complete answer within 2 s"
