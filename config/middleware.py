from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from config import json_depth
from config.errors import request_too_large_body


class BodySizeLimitMiddleware:
    """Refuses a declared body over DATAXPIPE_MAX_BODY_BYTES with 413 before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
        if length > settings.DATAXPIPE_MAX_BODY_BYTES:
            return JsonResponse(request_too_large_body(), status=413)
        return self.get_response(request)


# Admin and login forms: their fields are flat strings, never parsed as JSON.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The batch endpoints' NDJSON parser (lineage/api/parsers.py) bounds each line on its own, refusing a
# too-deep line alone and keeping the others; scanning the whole body here would refuse them all.
# By path and type together: another view that json.loads() its body whatever the type stays covered.
_PER_LINE_BOUNDED = (
    frozenset({"/api/v1/lineage/batch", "/api/v1/runs/batch"}),
    frozenset({"application/x-ndjson", "application/jsonl"}),
)


class JsonDepthLimitMiddleware:
    """Refuses with 400 a body nested deeper than DATAXPIPE_MAX_JSON_DEPTH, before any view parses it.

    DRF views meet the bound in their parser (config/parsers.py); this covers the views that read
    `request.body` themselves: dj-stripe's webhook json.loads()es the body before it checks the
    signature, so anyone who knows an endpoint's URL could raise a RecursionError there. Bodies
    under a Content-Encoding are left to the parser that decompresses them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._may_hold_json(request):
            try:
                body = request.body
            except RequestDataTooBig:
                return JsonResponse(request_too_large_body(), status=413)
            if json_depth.too_deep(_text(body, request.encoding)):
                return JsonResponse(json_depth.error_body(), status=400)
            # The parser need not scan the same bytes again (a decompressing parser still scans its output).
            request.META[json_depth.CHECKED_MARK] = True
        return self.get_response(request)

    @staticmethod
    def _may_hold_json(request) -> bool:
        # Django reads no body without a Content-Length (BodySizeLimitMiddleware vetted the number).
        if request.META.get("CONTENT_LENGTH", "0") in ("", "0"):
            return False
        if request.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower() not in ("", "identity"):
            return False
        paths, line_types = _PER_LINE_BOUNDED
        if request.path.rstrip("/") in paths and request.content_type in line_types:
            return False
        return request.content_type not in _FORM_TYPES


def _text(body: bytes, charset: str | None) -> str:
    # Brackets survive any undecodable byte; a charset that is no text codec (bz2_codec) is read as UTF-8.
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
