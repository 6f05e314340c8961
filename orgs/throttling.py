import contextlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from orgs.permissions import principal_of


class PrincipalRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per OIDC user and organization); anonymous calls by address."""

    scope = "principal"

    def get_cache_key(self, request, view):
        principal = principal_of(request)
        ident = principal.throttle_ident if principal else f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class EventRateThrottle(BaseThrottle):
    """OpenLineage ingestion: a budget of events (not requests) per key and minute.

    A producer sends one request per event, or one per batch of up to 1,000: the budget counts the
    events either way, so batching neither buys nor costs throughput. The default
    (DATAXPIPE_OPENLINEAGE_THROTTLE_RATE, 30000/min = 500 events/s) is above what one worker ingests,
    so the throttle stops a runaway producer, not a busy one. A fixed one-minute window, counted with
    one atomic cache increment per request: a sliding history of 30,000 timestamps per key would cost
    more than the events.
    """

    def __init__(self):
        self.limit, self.period = _parse_rate(settings.DATAXPIPE_OPENLINEAGE_THROTTLE_RATE)
        self.retry_after = None

    def _key(self, request) -> str | None:
        principal = principal_of(request)
        if principal is None:
            return None
        window = int(time.time() // self.period)
        self.retry_after = self.period - time.time() % self.period
        return f"throttle_events_{principal.throttle_ident}_{window}"

    def allow_request(self, request, view):
        """One event for a single-event request; a batch view charges its events once parsed (`charge`)."""
        return self.charge(request, 0 if getattr(view, "charges_events_itself", False) else 1)

    def charge(self, request, events: int) -> bool:
        key = self._key(request)
        if key is None:
            return True
        cache.add(key, 0, timeout=self.period * 2)
        try:
            used = cache.incr(key, events) if events else cache.get(key, 0)
        except ValueError:  # expired between add and incr
            cache.add(key, events, timeout=self.period * 2)
            used = events
        if used <= self.limit:
            return True
        if events:
            # Refused events are not spent: after a 429 for a batch of 1,000, what still fits goes through.
            with contextlib.suppress(ValueError):  # the window expired meanwhile
                cache.decr(key, events)
        return False

    def wait(self):
        return self.retry_after


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[:1]]
