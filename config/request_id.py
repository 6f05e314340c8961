"""A request id for every request: in the `X-Request-ID` response header, every log line and a 500's body.

An operator given the id from a client's error finds the traceback in the logs. A caller's own
`X-Request-ID` (a proxy or a load balancer sets one) is kept when it is a short token; anything
else is replaced, so a hostile header cannot forge or break log lines.
"""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._\-]{8,64}")
_current: contextvars.ContextVar = contextvars.ContextVar("dataxpipe_request_id", default="")


def current() -> str:
    """The id of the request being served ("" outside a request: commands, workers)."""
    return _current.get()


def _incoming(request) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _ACCEPTED.fullmatch(given) else ""


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = _incoming(request) or uuid.uuid4().hex
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdFormatter(logging.Formatter):
    """The plain formatter, with `%(request_id)s` ("-" outside a request) for every record, whatever logged it."""

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = current() or "-"
        return super().format(record)
