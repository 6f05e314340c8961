"""Outside the API (the admin, its sign-in page), the two expected database conditions are a plain 503 page
saying what is going on, logged as one warning line, instead of a 500 with a traceback:

- the database cannot be reached (config/db_errors.py): retry later;
- migrations are pending (config/pending_migrations.py): the release step has not run.

The API says the same in JSON (orgs/api/exceptions.py). Any other database error stays a 500: a bug.
"""

import logging

from django.http import HttpResponse

from config import pending_migrations
from config.db_errors import is_unavailable
from config.errors import logged_as_warning

logger = logging.getLogger("dataxpipe.errors")

UNAVAILABLE = "The catalog database is unavailable; retry in a moment."


class DatabaseErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_unavailable(exception):
            kind = type(exception).__name__
            logger.warning("%s %s: catalog database unavailable (%s)", request.method, request.path, kind)
            return _page(UNAVAILABLE, retry_after=5)
        missing = pending_migrations.explains(exception)
        if missing:
            logger.warning("%s %s: %d migrations pending", request.method, request.path, len(missing))
            return _page(pending_migrations.summary(missing), retry_after=30)
        return None


def _page(text: str, *, retry_after: int) -> HttpResponse:
    response = HttpResponse(text, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    return logged_as_warning(response)
