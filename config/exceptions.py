"""One place that turns exceptions into API responses, so bad input is never a 500."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config import json_depth
from config.parsers import JsonTooDeep


def request_too_large_body() -> dict:
    """The 413 answer, the same whether the middleware (declared length) or Django (read body) refused it."""
    return {
        "detail": "Request body too large.",
        "code": "request_too_large",
        "max_bytes": settings.DATAXPIPE_MAX_BODY_BYTES,
    }


def api_exception_handler(exc, context):
    if isinstance(exc, JsonTooDeep):
        # The same body as JsonDepthLimitMiddleware's, max_depth a number (APIException would stringify it).
        return Response(json_depth.error_body(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "The request conflicts with the current state of the resource.", "code": "conflict"},
            status=status.HTTP_409_CONFLICT,
        )
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
    if isinstance(exc, OperationalError | DatabaseError):
        # The database is down or overloaded: a retryable condition, not the caller's fault.
        return Response(
            {"detail": "The catalog database is unavailable; retry later.", "code": "database_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return exception_handler(exc, context)
