from django.conf import settings
from django.http import JsonResponse

from config.exceptions import request_too_large_body


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
