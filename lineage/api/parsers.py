"""JSON bodies that may arrive gzip-compressed (`Content-Encoding: gzip`), as OpenLineage clients send them.

The compressed size is capped by the body-size middleware; the decompressed size is capped here
(DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES), so a small gzip bomb cannot expand into memory.
"""

import io
import zlib

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType

from config.parsers import BoundedJSONParser

DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024


class DecompressedBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, max_bytes: int):
        super().__init__(
            {"detail": "Decompressed request body too large.", "code": self.default_code, "max_bytes": max_bytes}
        )


def max_event_bytes() -> int:
    return getattr(settings, "DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES)


def gunzip_capped(data: bytes, cap: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = decompressor.decompress(data, cap + 1)
    except zlib.error as exc:
        raise ParseError(f"Body is not valid gzip: {exc}") from None
    if len(body) > cap or decompressor.unconsumed_tail:
        raise DecompressedBodyTooLarge(cap)
    if not decompressor.eof:
        raise ParseError("Body is not valid gzip: the stream is truncated.")
    return body


class MaybeGzipJSONParser(BoundedJSONParser):
    """The nesting bound of BoundedJSONParser applies to the decompressed body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return self._parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads recurses once per nesting level: a deeply nested body must not become a 500.
            raise ParseError("JSON parse error - the body is nested too deeply.") from None

    def _parse(self, stream, media_type, parser_context):
        request = (parser_context or {}).get("request")
        encoding = (request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else "").strip().lower()
        if encoding in ("", "identity"):
            return super().parse(stream, media_type, parser_context)
        if encoding != "gzip":
            raise UnsupportedMediaType(media_type, detail=f"Content-Encoding {encoding!r} is not supported; use gzip.")
        body = gunzip_capped(stream.read() if stream is not None else b"", max_event_bytes())
        return super().parse(io.BytesIO(body), media_type, parser_context)
