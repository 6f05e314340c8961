"""Whether a batch of OpenLineage events can be stored as sent, decided once for its whole text.

Every event is checked for what the database cannot store (`openlineage_events.unstorable`) and
masked where it may hold a secret (`services.masked_payload`); both serialise the event again, about
40 us per event, a third of a batch's CPU. Most batches hold nothing of the kind anywhere, which one
scan of the text as sent shows: then no event needs either.
"""

import re

from django.conf import settings

from config.logging import secrets_in_play
from lineage.openlineage_events import DEFAULT_MAX_EVENT_BYTES

# Every masking pattern of config.logging needs one of these in the text it masks (DataXPipe keys,
# bearer tokens, the "@" of a DSN with a password), lower-cased.
SECRET_MARKERS = ("dxp_", "bearer", "@")


def plain_batch(text: str) -> bool:
    """Whether the events of `text` (a JSON array as sent) need neither masking nor the storability check."""
    if secrets_in_play():
        return False
    data = text.encode("utf-8", "surrogatepass")
    # The event size cap is on the event as serialised with spaces after "," and ":", at most twice the
    # text as sent, but for numbers with an exponent ("1e15", 4 bytes, is 1000000000000000.0, 18): each
    # of those may add _EXPONENT_GROWTH more. A batch within that bound needs no event measured.
    cap = getattr(settings, "DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES)
    if 2 * len(data) > cap:
        return False
    folded = data.translate(_NUMBERS_FOLDED)
    if 2 * len(data) + _EXPONENT_GROWTH * folded.count(b"0e") > cap and (
        2 * len(data) + _EXPONENT_GROWTH * len(_EXPONENT_NUMBER.findall(folded)) > cap
    ):
        return False
    return not _needs_a_closer_look(data, folded)


# A number (after ":", "," or "[") that JSON reads as infinite has 200 digits before its point or an
# exponent of three digits. Digits folded into "0" (and E into e), both are plain substring searches, at
# C speed; an exponent-like hit (a UUID holds some) is then checked for being a number.
_NUMBERS_FOLDED = bytes.maketrans(b"0123456789E", b"0000000000e")
_LONG_DIGITS = b"0" * 200
_LONG_EXPONENTS = (b"0e000", b"0e+000", b"0e-000")
_IN_A_NUMBER = b"0.-+"
# A number with an exponent, digits folded: after what precedes a JSON value (a "0e" in a string is none).
_EXPONENT_NUMBER = re.compile(rb"[:,\[][ \t\r\n]*-?0+(?:\.0+)?e")
# The longest float repr ("-1.2345678901234567e-308"): more than any such number can grow when serialised.
_EXPONENT_GROWTH = 24
_WHITESPACE = b" \t\r\n"


def _needs_a_closer_look(data: bytes, folded: bytes) -> bool:
    """Whether the batch's text (as UTF-8) may hold what `unstorable` refuses or what must be
    masked; when not, no event needs either check. JSON writes a NUL or a lone surrogate only as a \\u
    escape; NaN and Infinity as those words; a secret carries one of SECRET_MARKERS, plainly
    (a \\u escape could spell one, and is caught itself). A false alarm (an e-mail address, a job named
    Infinity) only sends the batch the event-by-event checks. About 2 ms for 500 events."""
    if b"\\u" in data or b"NaN" in data or b"Infinity" in data:
        return True
    lowered = data.lower()
    if any(marker.encode() in lowered for marker in SECRET_MARKERS):
        return True
    if _LONG_DIGITS in folded:
        return True
    for needle in _LONG_EXPONENTS:
        position = folded.find(needle)
        while position != -1:
            if _starts_a_value(folded, position):
                return True
            position = folded.find(needle, position + 1)
    return False


def _starts_a_value(folded: bytes, position: int) -> bool:
    """Whether the digits at `position` belong to a JSON number (not, say, to a UUID in a string)."""
    while position > 0 and folded[position - 1] in _IN_A_NUMBER:
        position -= 1
    while position > 0 and folded[position - 1] in _WHITESPACE:
        position -= 1
    return position > 0 and folded[position - 1] in b":,["
