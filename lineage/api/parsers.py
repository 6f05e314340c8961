"""JSON bodies that may arrive gzip-compressed (`Content-Encoding: gzip`), as OpenLineage clients send them,
and the batch endpoints' bodies: a JSON array, or NDJSON (one JSON value per line).

The compressed size is capped by the body-size middleware; the decompressed size is capped here
(DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES for one event, DATAXPIPE_MAX_BATCH_BYTES for a batch), so a
small gzip bomb cannot expand into memory.
"""

import io
import json
import zlib
from dataclasses import dataclass

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser, get_encoding

from config import json_depth
from config.parsers import BoundedJSONParser

DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024


class DecompressedBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, max_bytes: int):
        super().__init__(
            {"detail": "Decompressed request body too large.", "code": self.default_code, "max_bytes": max_bytes}
        )


DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024


def max_event_bytes() -> int:
    return getattr(settings, "DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES)


def max_batch_bytes() -> int:
    return getattr(settings, "DATAXPIPE_MAX_BATCH_BYTES", DEFAULT_MAX_BATCH_BYTES)


def _decompressed_cap(parser_context) -> int:
    """A view may allow more than one event's worth (a batch), through `max_decompressed_bytes()`."""
    view = (parser_context or {}).get("view")
    allowance = getattr(view, "max_decompressed_bytes", None)
    return allowance() if allowance is not None else max_event_bytes()


def _content_encoding(parser_context) -> str:
    request = (parser_context or {}).get("request")
    return (request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else "").strip().lower()


def _body(stream, media_type, parser_context) -> bytes:
    """The request body, decompressed when it says gzip (capped), refused under another encoding."""
    raw = stream.read() if stream is not None else b""
    encoding = _content_encoding(parser_context)
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise UnsupportedMediaType(media_type, detail=f"Content-Encoding {encoding!r} is not supported; use gzip.")
    return gunzip_capped(raw, _decompressed_cap(parser_context))


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
        if _content_encoding(parser_context) in ("", "identity"):
            return super().parse(stream, media_type, parser_context)
        body = _body(stream, media_type, parser_context)
        return super().parse(io.BytesIO(body), media_type, parser_context)


def keep_batch_text(parser_context, text: str) -> None:
    """The batch's events as the JSON array text they were sent as, on the request (`batch_text`): one
    scan of it (lineage.screening) spares every event its own masking and storability checks."""
    request = (parser_context or {}).get("request")
    if request is not None:
        request.batch_text = text


class BatchJSONParser(MaybeGzipJSONParser):
    """A batch's JSON array: parsed as any JSON body, its text kept (keep_batch_text)."""

    def _parse(self, stream, media_type, parser_context):
        body = _body(stream, media_type, parser_context)
        values = BoundedJSONParser.parse(self, io.BytesIO(body), media_type, parser_context)
        if isinstance(values, list) and get_encoding(parser_context or {}).lower().replace("-", "") == "utf8":
            keep_batch_text(parser_context, body.decode("utf-8"))
        return values


@dataclass(frozen=True)
class UnreadableLine:
    """An NDJSON line that is not JSON: refused on its own, the other lines still count."""

    reason: str


class NDJSONParser(BaseParser):
    """`application/x-ndjson`: one JSON value per line, blank lines skipped. Returns a list: the parsed
    values, and an `UnreadableLine` where a line is not JSON (or is nested too deeply)."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        body = _body(stream, media_type, parser_context)
        values, lines = [], []
        # Lines end at \n only (str.splitlines would also cut at U+2028 and other separators that a JSON
        # string may hold), and each line is decoded on its own: one line of bad UTF-8 is that line's fault.
        for number, raw in enumerate(body.split(b"\n"), start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                values.append(UnreadableLine(f"Line {number} is not valid UTF-8: {exc.reason}."))
                continue
            if not line.strip():
                continue
            if json_depth.too_deep(line):
                values.append(UnreadableLine(f"Line {number} is nested too deeply."))
                continue
            try:
                values.append(json.loads(line))
            except (ValueError, RecursionError) as exc:
                values.append(UnreadableLine(f"Line {number} is not JSON: {str(exc)[:200]}"))
            else:
                lines.append(line)
        if len(lines) == len(values):
            keep_batch_text(parser_context, f"[{','.join(lines)}]")
        return values


class JSONLinesParser(NDJSONParser):
    """The same body under the other name producers give it (DRF matches one media type per parser)."""

    media_type = "application/jsonl"


BATCH_PARSERS = [BatchJSONParser, NDJSONParser, JSONLinesParser]
