"""DRF's default parser: JSON with a bound on nesting depth (config/json_depth.py).

Subclasses (lineage's gzip-aware parser) hand it the decompressed bytes, so a compressed body
meets the same bound.
"""

from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

from config import json_depth


class JsonTooDeep(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "json_too_deep"

    def __init__(self):
        super().__init__(json_depth.error_body())


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's own charset check: only text codecs (a bz2_codec charset would be a decompression bomb).
        encoding = get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}: {exc.reason}") from None
        # JsonDepthLimitMiddleware marks the bodies it scanned; it leaves compressed ones (and their
        # decompressed bytes, parsed here) unmarked.
        request = (parser_context or {}).get("request")
        if not (request is not None and request.META.get(json_depth.CHECKED_MARK)) and json_depth.too_deep(text):
            raise JsonTooDeep()
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            # Unreachable within the depth bound; kept so a raised limit can never turn into a 500.
            raise JsonTooDeep() from None
