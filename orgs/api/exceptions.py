"""One place that turns exceptions into API responses, so bad input is never a 500.

It lives in orgs, not config, because it maps orgs.errors (the domain errors) and config is the
bottom layer: config may import no app. DRF finds it by the EXCEPTION_HANDLER setting.

- Domain errors (orgs/errors.py) get their status here, by class; their bodies are their `detail`.
- Django's ValidationError is bad input: 400 with field messages.
- Database errors: a connection-level failure is 503 "retry later"; a NUL byte or an out-of-range
  value is the caller's 400; anything else (an IntegrityError no service turned into a Conflict,
  a ProgrammingError) is a bug: a logged 500 naming the request id, never passed off as an outage.
"""

import logging
import re

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from config import json_depth, pending_migrations, request_id
from config.db_errors import is_unavailable
from config.errors import logged_as_warning, request_too_large_body, server_error_body
from config.parsers import JsonTooDeep
from orgs import errors

logger = logging.getLogger("dataxpipe.errors")

# Most specific first: the first class an error is an instance of gives its status.
DOMAIN_STATUS = (
    (errors.PlanLimitReached, status.HTTP_402_PAYMENT_REQUIRED),
    (errors.InvalidInput, status.HTTP_400_BAD_REQUEST),
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.NotConfigured, status.HTTP_503_SERVICE_UNAVAILABLE),
    (errors.UpstreamUnavailable, status.HTTP_502_BAD_GATEWAY),
    (errors.DomainError, status.HTTP_400_BAD_REQUEST),
)


# What get_object_or_404 says: the model's class name, a Python identifier.
_DJANGO_NOT_FOUND = re.compile(r"No (\w+) matches the given query\.")


def domain_status(exc: errors.DomainError) -> int:
    return next(code for cls, code in DOMAIN_STATUS if isinstance(exc, cls))


def api_exception_handler(exc, context):
    if isinstance(exc, errors.DomainError):
        set_rollback()  # as DRF does for its own exceptions: under ATOMIC_REQUESTS nothing half-written stays
        response = Response(exc.detail, status=domain_status(exc))
        if response.status_code >= 500:
            # Billing not configured (503), a warehouse that cannot be reached (502): expected answers, not bugs.
            logger.warning("%s: %s", type(exc).__name__, "; ".join(exc.messages()))
            logged_as_warning(response)
        return response
    if isinstance(exc, JsonTooDeep):
        # The same body as JsonDepthLimitMiddleware's, max_depth a number (APIException would stringify it).
        return Response(json_depth.error_body(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # The database refused a value the request carried (a NUL character PostgreSQL cannot
        # store in text, a number out of range): the caller's input, not an outage.
        return Response(
            {
                "detail": "The request holds a value the database cannot store (such as a NUL character).",
                "code": "invalid_value",
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if is_unavailable(exc):
        # The database cannot be reached: a retryable condition, not the caller's fault.
        logger.warning("catalog database unavailable: %s", type(exc).__name__)
        return logged_as_warning(
            Response(
                {"detail": "The catalog database is unavailable; retry later.", "code": "database_unavailable"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        )
    missing = pending_migrations.explains(exc)
    if missing:
        # A deployment whose release step has not run yet: the database is there, its tables are not.
        logger.warning("catalog database has %d migrations pending", len(missing))
        return logged_as_warning(
            Response(
                {"detail": pending_migrations.summary(missing), "code": "migrations_pending"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "30"},
            )
        )
    if isinstance(exc, DatabaseError):
        # A query the code got wrong, or a constraint no service expected: a bug, logged with its
        # traceback (the redaction filter masks secrets in it) under the id the caller is given.
        current = request_id.current()
        request = context.get("request")
        logger.error(
            "unexpected database error in %s %s",
            getattr(request, "method", "-"),
            getattr(request, "path", "-"),
            exc_info=exc,
            extra={"request_id": current},
        )
        set_rollback()
        return Response(server_error_body(current), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, Http404):
        return Response({"detail": not_found_sentence(exc, context)}, status=status.HTTP_404_NOT_FOUND)
    response = exception_handler(exc, context)
    if response is not None and response.status_code in (502, 503, 504):
        # DRF's own 5xx (a 503 a view raised on purpose): expected, a warning like the others.
        logger.warning("%s: %s", type(exc).__name__, response.data)
        logged_as_warning(response)
    return response


def not_found_sentence(exc: Http404, context) -> str:
    """Django's "No CheckResult matches the given query." as "No check result 'x' in this organization."."""
    match = _DJANGO_NOT_FOUND.fullmatch(str(exc))
    if match is None:
        return str(exc) or "Not found."
    noun = " ".join(word.lower() for word in re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", match.group(1)))
    view = context.get("view")
    kwargs = getattr(view, "kwargs", None) or {}
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    value = kwargs.get(lookup) if lookup else None
    if value is None:
        return f"No such {noun} in this organization."
    return f"No {noun} '{value}' in this organization."
