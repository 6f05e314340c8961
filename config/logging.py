"""Redaction of secrets in log lines and in messages the service shows.

Two layers:
- Patterns: anything that looks like a DataXPipe key, a bearer token or a DSN password.
- Values: the secret values resolved for a warehouse connection during the current request or task
  (`remember_secret`, called by `catalog.secrets` when it resolves a reference). Any run of
  FRAGMENT_LENGTH or more consecutive characters of such a value is masked, case-insensitively,
  also in its URL-encoded and JSON-escaped forms: a server that truncates an identifier to 63
  characters (PostgreSQL), lower-cases it or quotes it still cannot echo the secret into a log line.

The values live in a context variable, emptied when a request starts, so a 500 logged at the end of
the request that resolved them is still redacted, and nothing outlives the next request of the thread.
"""

import contextvars
import json
import logging
import re
from urllib.parse import quote, quote_plus, urlsplit

from django.core.signals import request_started

# Shorter runs would match ordinary words; a secret shorter than this is masked only as a whole.
FRAGMENT_LENGTH = 8
SHORT_SECRET_MIN_LENGTH = 3
REDACTED = "[redacted]"

# Anything that looks like a DataXPipe key, a bearer token or a DSN password is masked before a
# log line is written, whatever logger produced it.
_PATTERNS = [
    # Possessive: a key already masked ("dxp_abcd1234…[redacted]") is not masked twice.
    (re.compile(r"dxp_[A-Za-z0-9]{4,}+(?!…)"), lambda m: m.group(0)[:12] + "…[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/=]+"), lambda m: m.group(1) + "[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), lambda m: m.group(1) + "[redacted]@"),
]

_in_play: contextvars.ContextVar = contextvars.ContextVar("dataxpipe_secrets_in_play", default=None)
_MAX_IN_PLAY = 256


def remember_secret(value) -> None:
    """Marks a resolved secret value for redaction in every log line of the current request or task."""
    if not isinstance(value, str) or len(value) < SHORT_SECRET_MIN_LENGTH:
        return
    values = _in_play.get()
    if values is None:
        values = set()
        _in_play.set(values)
    if len(values) < _MAX_IN_PLAY:
        values.add(value)


def secrets_in_play() -> list[str]:
    return sorted(_in_play.get() or ())


def forget_secrets(**_kwargs) -> None:
    _in_play.set(None)


request_started.connect(forget_secrets, dispatch_uid="dataxpipe.forget_secrets_in_play")


def _fold(text: str) -> str:
    # Lower-case character by character, keeping the length (a few characters grow when lower-cased),
    # so positions in the folded text are positions in the original.
    return "".join(char.lower() if len(char.lower()) == 1 else char for char in text)


def _forms(value: str) -> set[str]:
    return {_fold(form) for form in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1])}


def _secret_parts(values):
    """The values to mask. A JSON object (a service-account key) counts by its string leaves: its field names
    (`token_uri`, `private_key`), public endpoint URLs and PEM armor lines are ordinary words that messages keep."""
    for value in values:
        leaves = _json_leaves(value) if isinstance(value, str) and value.lstrip().startswith("{") else None
        yield from (value,) if leaves is None else leaves


def _json_leaves(text: str) -> list[str] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    leaves, pending = [], [document]
    while pending:
        node = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                pending.append(child)
            elif isinstance(child, str) and not _is_public_url(child):
                # A PEM's armor lines (-----BEGIN PRIVATE KEY-----) are words too; its body is the secret.
                leaves.extend(line for line in child.splitlines() if line and not line.startswith("-----"))
    return leaves


def _is_public_url(text: str) -> bool:
    """An endpoint address (token_uri): one with credentials, a query or a fragment may carry a token."""
    if not text.startswith(("http://", "https://")):
        return False
    parts = urlsplit(text)
    return not (parts.username or parts.password or parts.query or parts.fragment)


def redact_values(text: str, values) -> str:
    """`text` with every run of >= FRAGMENT_LENGTH characters of any of `values` (or a short value whole)
    replaced by a mask, case-insensitively, also URL-encoded or JSON-escaped."""
    grams, shorts = set(), set()
    for value in _secret_parts(values):
        if not isinstance(value, str) or len(value) < SHORT_SECRET_MIN_LENGTH:
            continue
        for form in _forms(value):
            if len(form) >= FRAGMENT_LENGTH:
                grams.update(form[i : i + FRAGMENT_LENGTH] for i in range(len(form) - FRAGMENT_LENGTH + 1))
            else:
                shorts.add(form)
    if not grams and not shorts:
        return text
    folded = _fold(text)
    covered = bytearray(len(text))
    for start in range(len(text) - FRAGMENT_LENGTH + 1):
        if folded[start : start + FRAGMENT_LENGTH] in grams:
            covered[start : start + FRAGMENT_LENGTH] = b"\x01" * FRAGMENT_LENGTH
    for short in shorts:
        start = folded.find(short)
        while start != -1:
            covered[start : start + len(short)] = b"\x01" * len(short)
            start = folded.find(short, start + 1)
    if not any(covered):
        return text
    pieces, index = [], 0
    while index < len(text):
        if covered[index]:
            while index < len(text) and covered[index]:
                index += 1
            pieces.append(REDACTED)
        else:
            end = covered.find(b"\x01", index)
            end = len(text) if end == -1 else end
            pieces.append(text[index:end])
            index = end
    return "".join(pieces)


def redact(text: str) -> str:
    """Secret-looking patterns and the secrets resolved in this request or task, masked."""
    text = redact_values(text, secrets_in_play())
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        # A traceback quotes exception messages (a secret in a ValueError's text): format it here, redacted,
        # so the handler's formatter uses this text instead of formatting the exception again.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
