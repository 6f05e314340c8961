"""HTTP with retries: connection errors, 429 and 5xx are retried with backoff (honouring Retry-After);
any other 4xx is the caller's mistake and answered at once.

Retrying a POST is safe because every write the client sends carries its own id (run_id, result_id),
so the server answers a repeat with the stored record instead of a second one.
"""

import email.utils
import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from dataxpipe.errors import ApiError, ConfigurationError, TransportError

logger = logging.getLogger("dataxpipe")

USER_AGENT = "dataxpipe-python/0.1.0"
MAX_RETRY_AFTER_SECONDS = 60.0  # a hostile or confused server must not park a DAG task for hours


@dataclass
class Response:
    status: int
    body: object
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        exponential = min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)
        return exponential * (0.5 + random.random() / 2)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would resend X-API-KEY to wherever a redirect points; the API never redirects, so refuse.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _decode(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:2000]


class Transport:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float, retry: RetryPolicy | None = None):
        self.base_url = base_url.rstrip("/")
        if urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ConfigurationError(f"DATAXPIPE_URL must be an http(s) URL, not {self.base_url!r}.")
        self._api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.retry = retry or RetryPolicy()
        self._opener = urllib.request.build_opener(_NoRedirects)
        self.sleep = time.sleep

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def url_for(self, path: str) -> str:
        return self.base_url + path

    def same_origin_path(self, location: str) -> str:
        """The path of a Location header relative to base_url, refused if it points at another host (the key
        would follow it) or outside base_url's path (a catalog served under a prefix answers only under it)."""
        absolute = urllib.parse.urljoin(self.base_url + "/", location)
        ours, theirs = urllib.parse.urlsplit(self.base_url), urllib.parse.urlsplit(absolute)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise TransportError(f"Refusing to follow a Location on another host: {theirs.netloc}")
        if not theirs.path.startswith(ours.path + "/"):
            raise TransportError(f"Refusing to follow a Location outside {self.base_url}: {theirs.path}")
        return theirs.path[len(ours.path) :] + (f"?{theirs.query}" if theirs.query else "")

    def request(self, method: str, path: str, *, params: dict | None = None, body=None) -> Response:
        url = self.url_for(path)
        if params:
            query = {k: v for k, v in params.items() if v is not None}
            if query:
                url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-API-KEY": self._api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        last_problem = ""
        for attempt in range(self.retry.attempts):
            retry_after = None
            try:
                # The scheme was checked in __init__ (http or https only).
                request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
                with self._opener.open(request, timeout=self.timeout_seconds) as answer:
                    return Response(answer.status, _decode(answer.read()), dict(answer.headers.items()))
            except urllib.error.HTTPError as error:
                status, payload = error.code, _decode(error.read())
                if status != 429 and status < 500:
                    raise ApiError(status, payload, method, path) from None
                retry_after = parse_retry_after(error.headers.get("Retry-After"))
                last_problem = f"HTTP {status}"
                if attempt == self.retry.attempts - 1:
                    raise ApiError(status, payload, method, path) from None
            except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                last_problem = f"{type(reason).__name__}: {reason}"
            if attempt < self.retry.attempts - 1:
                delay = self.retry.delay(attempt, retry_after)
                logger.warning("%s %s failed (%s); retry %d in %.1fs", method, path, last_problem, attempt + 1, delay)
                self.sleep(delay)
        raise TransportError(f"{method} {path}: no answer after {self.retry.attempts} attempts ({last_problem})")
