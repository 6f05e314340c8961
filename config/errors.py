"""Error pages: JSON under /api/ (clients parse it), Django's HTML pages everywhere else.

Without these, a URL under /api/ that matches no route (a malformed id, say) answers Django's
HTML 404 page, which no API client can read and the OpenAPI schema does not describe.
"""

from django.conf import settings
from django.http import JsonResponse
from django.views import defaults

from config import request_id


def server_error_body(request_id_value: str) -> dict:
    return {
        "detail": "Internal server error. Quote the request id when you report it.",
        "code": "server_error",
        "request_id": request_id_value,
    }


def request_too_large_body() -> dict:
    """The 413 answer, the same whether the middleware (declared length) or Django (read body) refused it."""
    return {
        "detail": "Request body too large.",
        "code": "request_too_large",
        "max_bytes": settings.DATAXPIPE_MAX_BODY_BYTES,
    }


def logged_as_warning(response):
    """Marks a 5xx answer its caller has logged as a warning (an expected outage, pending migrations): Django
    would log every 5xx again, as an error (django.utils.log.log_response skips a response so marked)."""
    response._has_been_logged = True
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        # Django has logged the traceback under this id (config/request_id.py): the caller can quote it.
        return JsonResponse(server_error_body(request_id.current()), status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)
