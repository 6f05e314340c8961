"""Where an alert may be POSTed: a tenant's webhook or Slack URL under the egress policy of catalog.egress.

The URL is judged at registration and again before every attempt (a DNS answer may change: rebinding):
its host is resolved and every address judged by catalog.egress (public addresses only unless the operator's
alert allow-list, DATAXPIPE_ALERT_ALLOWED_NETWORKS, opens a network; never the warehouse list, which would let
any organization admin reach every HTTP service of a network opened for warehouses); the catalog's own
database server is refused whatever the allow-list says; plain `http` only to allow-listed networks. The request
then goes to the checked address itself (TLS still verifies the host name), never follows a redirect, has connect
and read timeouts and a deadline for the whole attempt, ignores proxy variables, and keeps at most a short excerpt
of the answer.
"""

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

from catalog import egress
from catalog.egress import EgressRefused, Unresolvable

MAX_URL_LENGTH = 2000
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
EXCERPT_BYTES = 300
# The read timeout bounds each wait for the next bytes: a receiver answering a byte every few seconds would hold
# the worker for ever. The whole attempt ends here, well within the alert's claim (alerts.services.CLAIM_SECONDS),
# so no second worker takes the alert while the first is still sending it.
ATTEMPT_DEADLINE_SECONDS = 30

ALERT_DESTINATIONS = egress.AllowList("DATAXPIPE_ALERT_ALLOWED_NETWORKS", "alert destinations")

__all__ = [
    "ALERT_DESTINATIONS",
    "CheckedUrl",
    "EgressRefused",
    "HttpOutcome",
    "Unresolvable",
    "check_url",
    "post_json",
    "url_shape_problem",
]


@dataclass(frozen=True)
class CheckedUrl:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class HttpOutcome:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def url_shape_problem(url) -> str | None:
    """Why `url` cannot be an alert destination before any resolution, or None."""
    if not isinstance(url, str) or not url:
        return "is required."
    if len(url) > MAX_URL_LENGTH or any(ord(char) < 33 or ord(char) == 127 for char in url):
        return f"must be a URL of at most {MAX_URL_LENGTH} characters without spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL."
    if parts.scheme not in ("https", "http"):
        return "must start with https:// (or http:// to a network the operator allows)."
    if not parts.hostname:
        return "must name a host."
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (put a token in the path or query instead)."
    if port == 0:
        return "must not name port 0."
    problem = egress.host_problem(parts.hostname)
    return f"host {problem}" if problem else None


def _split(url: str):
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


def check_url(url: str) -> CheckedUrl:
    """The URL with the addresses it may be sent to; raises EgressRefused (a safe message) or Unresolvable."""
    problem = url_shape_problem(url)
    if problem:
        raise EgressRefused(f"url {problem}")
    scheme, host, port, target = _split(url)
    destination = egress.check_destination(host, port, None, ALERT_DESTINATIONS)
    addresses = [ipaddress.ip_address(address) for address in destination.addresses]
    if egress.reaches_catalog_database_server(addresses, port):
        raise EgressRefused("url reaches the catalog's own database server, which alerts can never call.")
    networks = ALERT_DESTINATIONS.networks()
    if scheme != "https" and not all(egress.in_allowed_networks(address, networks) for address in addresses):
        raise EgressRefused("url must use https://; plain http:// is allowed only to networks the operator allows.")
    return CheckedUrl(scheme=scheme, host=host, port=port, target=target, addresses=destination.addresses)


class _Deadline:
    """Shuts the attempt's sockets down once the whole attempt has lasted `seconds`: the blocked read returns
    and urllib3 reports the connection dropped, whatever the receiver is still trickling."""

    def __init__(self, seconds: float):
        self.passed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


def _pool(checked: CheckedUrl, address: str, deadline: _Deadline):
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS)
    common = {"host": address, "port": checked.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if checked.scheme == "http":
        pool = urllib3.HTTPConnectionPool(**common)
    else:
        context = ssl.create_default_context(cafile=certifi.where())
        pool = urllib3.HTTPSConnectionPool(
            **common, ssl_context=context, server_hostname=checked.host, assert_hostname=checked.host
        )
    pool.ConnectionCls = _under(pool.ConnectionCls, deadline)
    return pool


def _under(connection_class, deadline: _Deadline):
    """`connection_class` whose socket the deadline watches from its creation (before any TLS handshake)."""

    class Watched(connection_class):
        def _new_conn(self):
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    return Watched


def post_json(checked: CheckedUrl, body: bytes, headers: dict[str, str]) -> HttpOutcome:
    """POSTs `body` to the checked address (the next one when a connection cannot be opened); never raises."""
    with _Deadline(ATTEMPT_DEADLINE_SECONDS) as deadline:
        outcome = _post(checked, body, headers, deadline)
    if deadline.passed and outcome.status_code is None:
        return HttpOutcome(None, f"no complete answer within {ATTEMPT_DEADLINE_SECONDS} s", "", outcome.duration_ms)
    return outcome


def _post(checked: CheckedUrl, body: bytes, headers: dict[str, str], deadline: _Deadline) -> HttpOutcome:
    started = time.monotonic()
    error = "no address to connect to"
    for address in checked.addresses:
        pool = _pool(checked, address, deadline)
        try:
            response = pool.urlopen(
                "POST",
                checked.target,
                body=body,
                headers={
                    **headers,
                    "Host": checked.host_header,
                    "Content-Type": "application/json",
                    "Accept-Encoding": "identity",
                    "User-Agent": "DataXPipe-Alerts/1",
                },
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                excerpt = response.read(EXCERPT_BYTES, decode_content=False).decode("utf-8", errors="replace")
            finally:
                response.release_conn()
            elapsed = (time.monotonic() - started) * 1000
            status = response.status
            message = "" if 200 <= status < 300 else _status_error(status)
            return HttpOutcome(status_code=status, error=message, excerpt=excerpt, duration_ms=elapsed)
        except urllib3.exceptions.NewConnectionError as exc:
            error = _describe(exc)  # try the name's next address
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return HttpOutcome(None, _describe(exc), "", (time.monotonic() - started) * 1000)
        finally:
            pool.close()
    return HttpOutcome(None, error, "", (time.monotonic() - started) * 1000)


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"answered {status}: redirects are not followed; give the final URL."
    return f"answered {status}."


def _describe(exc: Exception) -> str:
    kinds = (
        # NewConnectionError is a ConnectTimeoutError too (urllib3's history): the more precise one first.
        (urllib3.exceptions.NewConnectionError, "the connection was refused or the host is unreachable"),
        (urllib3.exceptions.ConnectTimeoutError, "the connection timed out"),
        (urllib3.exceptions.ReadTimeoutError, "no answer within the read timeout"),
        (urllib3.exceptions.SSLError, "the TLS handshake failed (certificate or protocol)"),
        (urllib3.exceptions.ProtocolError, "the connection was dropped"),
    )
    for kind, words in kinds:
        if isinstance(exc, kind):
            return words
    return f"the request failed ({exc.__class__.__name__})"
