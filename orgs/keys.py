"""API key format and hashing.

A key is ``dxp_`` + 8 characters of public prefix + 40 characters of secret, all base62.
The prefix finds the row through a unique index; the secret is checked against an HMAC-SHA256
digest keyed with a server-side pepper, so the table alone cannot be used to forge keys.
"""

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from django.conf import settings

KEY_MARKER = "dxp_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits
_ALPHABET_SET = frozenset(_ALPHABET)
KEY_LENGTH = len(KEY_MARKER) + PREFIX_LENGTH + SECRET_LENGTH


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    secret: str


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def generate_key() -> tuple[str, str]:
    """Returns (full key, prefix)."""
    prefix = _random(PREFIX_LENGTH)
    return f"{KEY_MARKER}{prefix}{_random(SECRET_LENGTH)}", prefix


def digest_secret(secret: str) -> str:
    return hmac.new(settings.DATAXPIPE_API_KEY_PEPPER.encode(), secret.encode(), hashlib.sha256).hexdigest()


def parse_key(raw: str) -> ParsedKey | None:
    if len(raw) != KEY_LENGTH or not raw.startswith(KEY_MARKER):
        return None
    body = raw[len(KEY_MARKER) :]
    if not set(body) <= _ALPHABET_SET:
        return None
    return ParsedKey(prefix=body[:PREFIX_LENGTH], secret=body[PREFIX_LENGTH:])


def looks_like_api_key(raw: str) -> bool:
    return raw.startswith(KEY_MARKER)


# Compared against when no row matches, so an unknown prefix costs the same digest work.
_DUMMY_DIGEST = "0" * 64


def secret_matches(secret: str, stored_digest: str | None) -> bool:
    candidate = digest_secret(secret)
    return hmac.compare_digest(candidate, stored_digest or _DUMMY_DIGEST) and stored_digest is not None
