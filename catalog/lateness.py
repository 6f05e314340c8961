"""Late pipelines: the one definition of "late" (issue 16, docs/lateness.md).

A pipeline is judged only when it has a cron `schedule` and is not `paused` (external pipelines, reported by
OpenLineage, have no schedule). Slots are the schedule's times in the pipeline's time zone (UTC unless its
pipeline.json says `timezone`), computed by croniter and compared in UTC. `grace` is `late_grace_minutes`.

- **Missed slot**: the *due slot* is the latest slot S with S + grace <= now. The pipeline is late for S when
  no run arrived at or after S minus the early tolerance, min(grace, half the time since the slot before S):
  a run starting a little early counts for the slot it was meant for, never for the one before. A run
  "arrives" when the catalog hears of it (created) or when it reports that it started, whichever is later;
  any status counts (a queued run proves the scheduler fired). Slots before `expected_since` (the pipeline's
  creation, its last schedule change, its last unpause) are never expected. A run arriving after the grace
  clears the lateness for S; the next slot missed gives a new `late_slot`.
- **Overrun**: the pipeline's latest run is `running` and has been for more than OVERRUN_FACTOR (2) times
  the pipeline's usual duration (`catalog.selectors.usual_durations`: the median of its last 20 successful
  runs, none before 3) and for at least `usual + grace` (a 1-minute job is not late after 2 minutes 1 s).
  `late_slot` is the run's start. An overrun wins over a slot missed while the run is still going: the
  scheduler is waiting for it, and the alert (deduplicated on the slot) fires once, not once per slot.

Everything here is pure: `catalog.late_detection` reads the facts and writes the verdicts.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter

from catalog.models import LateReason, RunStatus

DEFAULT_GRACE_MINUTES = 15
MAX_GRACE_MINUTES = 7 * 24 * 60  # a week: a longer grace hides a missed weekly run
OVERRUN_FACTOR = 2
DEFAULT_TIMEZONE = "UTC"
# The lateness fields of a pipeline that is on time (paused, unscheduled, or judged on time).
ON_TIME = {"late_reason": "", "late_slot": None, "late_detected_at": None}


@dataclass(frozen=True)
class Lateness:
    reason: str  # a LateReason
    slot: datetime  # the missed slot, or the start of the overrunning run (UTC)


@dataclass(frozen=True)
class DueSlot:
    slot: datetime  # UTC
    opens: datetime  # the earliest arrival that counts for it


@dataclass(frozen=True)
class LatestRun:
    status: str
    created_at: datetime
    started_at: datetime | None

    @property
    def arrived_at(self) -> datetime:
        return max(self.created_at, self.started_at) if self.started_at else self.created_at


@functools.cache
def known_timezones() -> frozenset[str]:
    # Membership in the IANA list, not ZoneInfo(name) alone: a tenant's string never becomes a file path.
    return frozenset(available_timezones())


def is_known_timezone(name: str) -> bool:
    return name in known_timezones()


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name if is_known_timezone(name) else DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class _Slots:
    """A slot and the one after it: the due slot stays `slot` while now - grace lies in [slot, after)."""

    slot: datetime
    after: datetime
    due: DueSlot | None  # None: no slot is due yet (a schedule bounded in years, before its first)


# (schedule, zone, grace) -> the last answer, kept across passes: a slot is computed again only once the next
# one is due (a yearly schedule costs croniter ~10 ms; every minute for every pipeline, that would add up).
_slot_cache: dict[tuple[str, str, timedelta], _Slots | None] = {}
SLOT_CACHE_ENTRIES = 100_000


def due_slot(schedule: str, timezone_name: str, grace: timedelta, now: datetime) -> DueSlot | None:
    """The latest slot whose grace has run out at `now`, with its early tolerance; None before the
    schedule's first slot is due, and for a schedule croniter cannot read or that never fires (registration
    refuses both; a row written otherwise is never judged)."""
    key = (schedule, timezone_name, grace)
    deadline = now - grace
    cached = _slot_cache.get(key, ...)
    if cached is None:
        return None
    if cached is not ... and cached.slot <= deadline < cached.after:
        return cached.due
    if len(_slot_cache) >= SLOT_CACHE_ENTRIES:
        _slot_cache.clear()
    _slot_cache[key] = computed = _compute_slots(schedule, _zone(timezone_name), grace, deadline)
    return computed.due if computed else None


def _compute_slots(schedule: str, zone: ZoneInfo, grace: timedelta, deadline: datetime) -> _Slots | None:
    # get_prev is strict: from a microsecond later, a slot exactly at the deadline is due.
    slot = _neighbour(schedule, deadline.astimezone(zone) + timedelta(microseconds=1), forward=False)
    if slot is None:
        # No slot yet: a schedule bounded in years ("0 6 * * * 0 2027") before its first. Kept until that one
        # is due, never for good; a schedule with no slot either way is never judged.
        first = _neighbour(schedule, deadline.astimezone(zone), forward=True)
        return _Slots(slot=_EARLIEST, after=first.astimezone(UTC), due=None) if first else None
    before = _neighbour(schedule, slot, forward=False)
    after = _neighbour(schedule, slot, forward=True)  # None after a bounded schedule's last slot
    # A first slot has no slot before it to be mistaken for: the whole grace is its early tolerance.
    early = min(grace, (slot - before) / 2) if before else grace
    due = DueSlot(slot=slot.astimezone(UTC), opens=(slot - early).astimezone(UTC))
    return _Slots(slot=slot.astimezone(UTC), after=after.astimezone(UTC) if after else _LATEST, due=due)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _neighbour(schedule: str, start: datetime, *, forward: bool) -> datetime | None:
    """The schedule's slot after (or before) `start`; None when there is none or croniter cannot read it."""
    try:
        cron = croniter(schedule, start)
        return cron.get_next(datetime) if forward else cron.get_prev(datetime)
    except (ValueError, KeyError, TypeError):  # croniter's errors, "no such date" too, are ValueErrors
        return None


def fires(schedule: str, timezone_name: str, now: datetime) -> bool:
    """Whether the schedule has a next slot at all ("0 0 30 2 *" never comes): registration refuses one that
    does not, which would otherwise cost croniter's whole search at every pass."""
    return _neighbour(schedule, now.astimezone(_zone(timezone_name)), forward=True) is not None


def missed_slot(due: DueSlot | None, expected_since: datetime, latest_run: LatestRun | None) -> Lateness | None:
    if due is None or due.slot < expected_since:
        return None  # registered (or rescheduled, or unpaused) after the slot: not expected
    if latest_run is not None and latest_run.arrived_at >= due.opens:
        return None
    return Lateness(reason=LateReason.MISSED_SLOT, slot=due.slot)


def overrun(latest_run: LatestRun | None, usual: timedelta | None, grace: timedelta, now: datetime) -> Lateness | None:
    if latest_run is None or latest_run.status != RunStatus.RUNNING or latest_run.started_at is None or not usual:
        return None
    elapsed = now - latest_run.started_at
    if elapsed > OVERRUN_FACTOR * usual and elapsed >= usual + grace:
        return Lateness(reason=LateReason.OVERRUN, slot=latest_run.started_at)
    return None


def judge(
    *,
    schedule: str,
    timezone_name: str,
    grace_minutes: int,
    expected_since: datetime,
    latest_run: LatestRun | None,
    usual: timedelta | None,
    now: datetime,
) -> Lateness | None:
    """The verdict for one scheduled, unpaused pipeline at `now` (None: on time)."""
    grace = timedelta(minutes=grace_minutes)
    return overrun(latest_run, usual, grace, now) or missed_slot(
        due_slot(schedule, timezone_name, grace, now), expected_since, latest_run
    )
