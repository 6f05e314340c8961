"""API key format and hashing.

A key is ``dxp_`` + 8 characters of public prefix + 40 characters of secret, all base62.
The prefix finds the row through a unique index; the secret is checked against an HMAC-SHA256
digest keyed with a server-side pepper, so the table alone cannot be used to forge keys.
A digest made under a previous pepper (a fallback, kept during a rotation) still verifies, and the
caller re-digests it under the current one, so a rotation never logs anyone out.
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


def _digest(pepper: str, secret: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def digest_secret(secret: str) -> str:
    """The digest stored for a new key, and the one a key is moved to after a rotation."""
    return _digest(settings.DATAXPIPE_API_KEY_PEPPER, secret)


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


@dataclass(frozen=True)
class Verification:
    matches: bool
    # The current pepper's digest when the key matched only under a fallback: store it.
    new_digest: str | None = None


def verify_secret(secret: str, stored_digest: str | None) -> Verification:
    """Checks `secret` under the current pepper and every fallback, in constant time.

    Every pepper is tried and compared whatever the outcome, so the time taken says nothing about
    which pepper (if any) matched; their number is configuration, not a secret.
    """
    stored = stored_digest or _DUMMY_DIGEST
    current = digest_secret(secret)
    current_matches = hmac.compare_digest(current, stored)
    fallback_matches = False
    for pepper in settings.DATAXPIPE_API_KEY_PEPPER_FALLBACKS:
        fallback_matches |= hmac.compare_digest(_digest(pepper, secret), stored)
    if stored_digest is None or not (current_matches or fallback_matches):
        return Verification(matches=False)
    return Verification(matches=True, new_digest=None if current_matches else current)


def secret_matches(secret: str, stored_digest: str | None) -> bool:
    return verify_secret(secret, stored_digest).matches
