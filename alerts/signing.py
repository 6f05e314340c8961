"""Webhook signatures, the way Stripe signs: HMAC-SHA256 over `"{timestamp}.{body}"` with the rule's secret.

The header is `X-DataXPipe-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver recomputes the digest
over the raw body it received, compares in constant time and refuses a timestamp older than its replay
window (docs/alerts.md has the snippet). The secret is `whsec_` + 40 base62 characters, generated here,
shown once at creation and stored Fernet-encrypted (catalog.secrets).
"""

import hashlib
import hmac
import secrets
import string

SIGNATURE_HEADER = "X-DataXPipe-Signature"
SECRET_MARKER = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_LENGTH = 40
# What the documentation tells receivers to accept; the sender itself stamps the time of each attempt.
REPLAY_WINDOW_SECONDS = 300
_ALPHABET = string.ascii_letters + string.digits


def generate_signing_secret() -> str:
    return SECRET_MARKER + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
