"""Writes for check executions that run on workers: asking for one, admission into the organization's
execution slots, start, finish, and leases.

Fairness is decided here, in the database, not by the broker: an execution is dispatched only while its
organization has fewer dispatched or running executions than its plan's `check_concurrency`, and fewer than
CHECK_EXECUTION_DISPATCH_AHEAD (1) dispatched ones that no worker has started yet; the rest stay `queued` in
the database and are admitted, oldest first, as that organization's executions start and finish. So the
broker holds at most one waiting message per organization: its FIFO queue serves the organizations in turn,
and a flooding organization's backlog stays in its own queue in the database, ahead of another
organization's check by at most one message (one execution slot). Admission runs under a lock on the
organization row (PostgreSQL) or the database's write lock (SQLite), so two parallel admissions cannot both
take the last slot.

`checks.services.execute_check` stays the one code path that runs a check and records its result.
"""

import logging
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from checks import dispatch, selectors, services
from checks.connectors.base import MAX_TIMEOUT_SECONDS
from checks.models import (
    ACTIVE_STATES,
    FINISHED_STATES,
    SLOT_STATES,
    CheckExecution,
    CheckResult,
    ExecutionLatencyBucket,
    ExecutionState,
    latency_bucket,
)
from orgs.errors import DomainError, messages_of
from orgs.limits import check_concurrency_for_plan, consume_monthly
from orgs.models import Organization

logger = logging.getLogger(__name__)

WORKER_LOST_MESSAGE = "The worker stopped before the check finished (its lease expired); run the check again."
INTERNAL_ERROR_MESSAGE = "The check could not be run because of an internal error; it is logged with the execution id."
# Executions recorded as lost or sent again per reaping pass: a backlog is worked off over several passes.
REAP_BATCH = 200

# Wakes requests of this process that wait for an execution, as soon as one finishes here (pool, inline).
_finished = threading.Condition()
_waiters = threading.BoundedSemaphore(max(1, settings.CHECK_EXECUTION_MAX_WAITERS))


@dataclass(frozen=True)
class Submission:
    execution: CheckExecution | None
    # The stored result when the request's result_id was already recorded: nothing was queued.
    existing: CheckResult | None = None
    # This request's connection LISTENs for the execution's finish (wait_until_finished ends it).
    listening: bool = False


EXECUTION_ID = re.compile(r"exe-[0-9a-f]{20}")


def new_execution_id() -> str:
    return f"exe-{secrets.token_hex(10)}"


def submit_execution(organization: Organization, *, listen: bool = False, **request) -> Submission:
    """Validates a check execution request as execute_check does (400/402 before anything is written),
    counts it against the monthly quota and records it: already `dispatched` (and sent) when the
    organization has a free slot and nothing queued ahead of it, `queued` otherwise.

    `listen`: the request will wait for the execution (PostgreSQL: its finish is announced with NOTIFY;
    see wait_until_finished). Its LISTEN commits with the execution, before any worker can have it.
    """
    prepared = services.prepare_check(organization, **request)
    if prepared.existing is not None:
        return Submission(execution=None, existing=prepared.existing)
    connector, _unavailable = services.connector_or_failure(prepared.connection)
    execution = CheckExecution(
        organization=organization,
        execution_id=new_execution_id(),
        check_id=request["check_id"],
        connection_id=prepared.connection.connection_id,
        # The validated body only: ids, SQL, threshold. Connection secrets are resolved by the worker.
        request={name: value for name, value in request.items() if value is not None},
        timeout_seconds=connector.timeout_seconds if connector is not None else None,
    )
    listening = listen and _can_listen()
    # One commit for the quota, the admission and the LISTEN (402: nothing written).
    with transaction.atomic():
        if listening:
            _listen(execution.execution_id)
        consume_monthly(organization, "check_executions_per_month")
        room = _room(organization.pk, execution.created_at)
        # The common case in three statements (lock, count, insert): no queue ahead, a slot free.
        straight_in = room is not None and room.free > 0 and not room.queued and not room.expired
        if straight_in:
            execution.state = ExecutionState.DISPATCHED
            execution.dispatched_at = execution.created_at
            execution.lease_expires_at = execution.created_at + timedelta(
                seconds=settings.CHECK_EXECUTION_DISPATCH_LEASE_SECONDS
            )
        execution.save(force_insert=True)
    if straight_in:
        _after_commit(lambda: _send([execution.execution_id]))
    elif room is not None and (room.expired or (room.queued and room.free > 0)):
        # Expired leases to end first, or older executions to admit before this one (oldest first).
        admit(organization.pk)
    return Submission(execution=execution, listening=listening)


def _lock_organization(organization_id: int) -> str | None:
    """Locks the organization's admission until the transaction ends; returns its plan, read under the lock."""
    organizations = Organization.objects.filter(pk=organization_id)
    if connection.vendor == "sqlite":
        # No row locks: a write first takes the database's write lock, and the reads after it are current.
        organizations.update(plan=F("plan"))
        return organizations.values_list("plan", flat=True).first()
    return organizations.select_for_update().values_list("plan", flat=True).first()


@dataclass(frozen=True)
class _Room:
    free: int  # executions the organization may dispatch now
    queued: int
    expired: int  # dispatched or running executions whose lease expired


def _room(organization_id: int, now) -> _Room | None:
    """Locks the organization's admission until the transaction ends and counts its executions under the
    lock (one query over its active executions); None when the organization is gone."""
    plan = _lock_organization(organization_id)
    if plan is None:
        return None
    counts = (
        CheckExecution.objects.for_organization(organization_id)
        .filter(state__in=ACTIVE_STATES)
        .aggregate(
            busy=Count("id", filter=Q(state__in=SLOT_STATES)),
            waiting=Count("id", filter=Q(state=ExecutionState.DISPATCHED)),
            queued=Count("id", filter=Q(state=ExecutionState.QUEUED)),
            expired=Count("id", filter=Q(state__in=SLOT_STATES, lease_expires_at__lt=now)),
        )
    )
    free = min(
        check_concurrency_for_plan(plan) - counts["busy"],
        settings.CHECK_EXECUTION_DISPATCH_AHEAD - counts["waiting"],
    )
    return _Room(free=free, queued=counts["queued"], expired=counts["expired"])


def admit(organization_id: int, *, reap: bool = True) -> list[str]:
    """Dispatches the organization's oldest queued executions into its free slots; returns their ids.

    `reap`: first end the organization's expired leases (a lost worker's slot is freed by the next request).
    """
    if reap:
        reap_expired(organization_id=organization_id)
    with transaction.atomic():
        now = timezone.now()
        room = _room(organization_id, now)
        if room is None or room.free <= 0 or not room.queued:
            return []
        executions = CheckExecution.objects.for_organization(organization_id)
        admitted = list(
            executions.filter(state=ExecutionState.QUEUED)
            .order_by("created_at", "id")
            .values_list("execution_id", flat=True)[: room.free]
        )
        if not admitted:
            return []
        executions.filter(execution_id__in=admitted, state=ExecutionState.QUEUED).update(
            state=ExecutionState.DISPATCHED,
            dispatched_at=now,
            lease_expires_at=now + timedelta(seconds=settings.CHECK_EXECUTION_DISPATCH_LEASE_SECONDS),
        )
    _after_commit(lambda: _send(admitted))
    return admitted


def _after_commit(send) -> None:
    # A worker that receives an id must find the execution dispatched: sent once the transaction committed.
    # Inline, the caller's own transaction runs it (the test suite's transactions never commit).
    if settings.CHECK_EXECUTION_BACKEND == "inline":
        send()
    else:
        transaction.on_commit(send)


def _send(execution_ids: list[str]) -> None:
    unsent = dispatch.send(execution_ids)
    if unsent:
        # Back in the queue, slot freed: the next admission (a submission, a finish, the periodic pass) sends it.
        # Ids this process admitted a moment ago, of any organization.
        CheckExecution.objects.unscoped().filter(execution_id__in=unsent, state=ExecutionState.DISPATCHED).update(
            state=ExecutionState.QUEUED, dispatched_at=None, lease_expires_at=None
        )


def start_execution(execution_id: str) -> CheckExecution | None:
    """Marks a dispatched execution running under a lease; None when it is not this worker's to run
    (started by another worker after a redelivery, already finished, or recorded as lost)."""
    # The id a broker message carries: the row says whose it is.
    execution = (
        CheckExecution.objects.unscoped().select_related("organization").filter(execution_id=execution_id).first()
    )
    if execution is None or execution.state != ExecutionState.DISPATCHED:
        return None
    now = timezone.now()
    timeout = execution.timeout_seconds or float(
        getattr(settings, "DATAXPIPE_CHECK_MAX_TIMEOUT_SECONDS", MAX_TIMEOUT_SECONDS)
    )
    lease = now + timedelta(seconds=timeout + settings.CHECK_EXECUTION_LEASE_MARGIN_SECONDS)
    started = (
        CheckExecution.objects.for_organization(execution.organization_id)
        .filter(pk=execution.pk, state=ExecutionState.DISPATCHED)
        .update(state=ExecutionState.RUNNING, started_at=now, lease_expires_at=lease)
    )
    if not started:
        return None
    execution.state, execution.started_at, execution.lease_expires_at = ExecutionState.RUNNING, now, lease
    # Its message left the broker: the organization may send its next one (see admit, DISPATCH_AHEAD).
    _admit_next(execution.organization_id)
    return execution


def _admit_next(organization_id: int) -> None:
    """After a start or a finish freed a place: admission, only when the organization has queued executions.

    Nothing queued, nothing to admit, no lock taken: an execution queued after this read is admitted by its
    own request, which sees the place freed.
    """
    if CheckExecution.objects.for_organization(organization_id).filter(state=ExecutionState.QUEUED).exists():
        admit(organization_id, reap=False)


@contextmanager
def _asynchronous_commits():
    """This connection's commits do not wait for the disk until the block ends (PostgreSQL).

    A commit not waited for is visible at once and reaches the disk within 3 x wal_writer_delay (0.6 s) or
    with the next durable commit, whichever comes first: WAL is written in order. So the execution's
    bookkeeping commits asynchronously and its finish durably (_finish), which makes everything before it
    durable before any client reads the outcome. A database crash loses at most the last ~0.6 s of
    bookkeeping, which the leases recover (a lost start is dispatched again).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def run_execution(execution_id: str) -> None:
    """What a worker does with an execution id: start it, run the check, record the outcome, admit the next."""
    with _asynchronous_commits():
        _run_execution(execution_id)


def _run_execution(execution_id: str) -> None:
    execution = start_execution(execution_id)
    if execution is None:
        return
    try:
        outcome = services.execute_check(execution.organization, **execution.request, metered=False)
    except (ValidationError, DomainError) as exc:
        # Valid when asked for, not any more (its connection or run was deleted, the result id reused).
        _finish(execution, ExecutionState.ERROR, message=services.scrub("; ".join(messages_of(exc))))
    except Exception:
        logger.exception("check execution %s of %s failed", execution_id, execution.organization.slug)
        _finish(execution, ExecutionState.ERROR, message=INTERNAL_ERROR_MESSAGE)
    else:
        _finish(execution, ExecutionState.DONE, result=outcome.result, error_kind=outcome.error_kind or "")


def _finish(
    execution: CheckExecution, state: str, *, result: CheckResult | None = None, error_kind="", message=""
) -> None:
    now = timezone.now()
    latency_ms = (now - execution.created_at).total_seconds() * 1000
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # The one commit of the run that waits for the disk: the result and the start before it are
            # written in order, so they are durable too before the waiting request is woken.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO on")
        finished = (
            CheckExecution.objects.for_organization(execution.organization_id)
            .filter(pk=execution.pk, state=ExecutionState.RUNNING)
            .update(
                state=state,
                result=result,
                error_kind=error_kind,
                error_message=message,
                finished_at=now,
                lease_expires_at=None,
                latency_ms=latency_ms,
            )
        )
    # The waiting request first, then the metrics and the organization's next execution.
    _announce_finish(execution.execution_id)
    if finished:  # not when the execution was recorded as lost meanwhile (the reaper counted it)
        _count_finished(state, latency_ms)
    _admit_next(execution.organization_id)


def _count_finished(state: str, latency_ms: float) -> None:
    """Adds a finished execution to /metrics' counts (checks/metrics.py reads these rows, not the executions)."""
    bucket = latency_bucket(latency_ms)
    rows = ExecutionLatencyBucket.objects.filter(state=state, bucket=bucket)
    increment = {"count": F("count") + 1, "sum_ms": F("sum_ms") + latency_ms}
    if rows.update(**increment):
        return
    try:
        with transaction.atomic():
            ExecutionLatencyBucket.objects.create(state=state, bucket=bucket, count=1, sum_ms=latency_ms)
    except IntegrityError:  # created by another finish meanwhile
        rows.update(**increment)


def reap_expired(organization_id: int | None = None) -> int:
    """Records running executions whose lease expired as `error` results (their worker was lost) and sends
    dispatched ones no worker picked up again. Returns how many executions it changed."""
    now = timezone.now()
    expired = CheckExecution.objects.filter(lease_expires_at__lt=now, state__in=SLOT_STATES)
    # One organization on its admission path; every organization in the periodic pass (beat, a system job).
    expired = expired.unscoped() if organization_id is None else expired.for_organization(organization_id)
    found = list(expired.select_related("organization")[:REAP_BATCH])  # one query, nearly always empty
    if not found:
        return 0
    changed = 0
    for execution in (execution for execution in found if execution.state == ExecutionState.RUNNING):
        latency_ms = (now - execution.created_at).total_seconds() * 1000
        claimed = (
            CheckExecution.objects.for_organization(execution.organization_id)
            .filter(pk=execution.pk, state=ExecutionState.RUNNING, lease_expires_at__lt=now)
            .update(
                state=ExecutionState.ERROR,
                error_message=WORKER_LOST_MESSAGE,
                finished_at=now,
                lease_expires_at=None,
                latency_ms=latency_ms,
            )
        )
        if not claimed:
            continue  # finished or reaped by someone else meanwhile
        changed += 1
        _count_finished(ExecutionState.ERROR, latency_ms)
        logger.warning("check execution %s of %s: worker lost", execution.execution_id, execution.organization.slug)
        result = services.record_execution_error(
            execution.organization,
            execution.request,
            connection_id=execution.connection_id,
            message=WORKER_LOST_MESSAGE,
        )
        CheckExecution.objects.for_organization(execution.organization_id).filter(pk=execution.pk).update(result=result)
        _announce_finish(execution.execution_id)
    resend = [execution.execution_id for execution in found if execution.state == ExecutionState.DISPATCHED]
    if resend:
        # A duplicate message is harmless: only the first worker to start an execution runs it.
        CheckExecution.objects.unscoped().filter(execution_id__in=resend, state=ExecutionState.DISPATCHED).update(
            lease_expires_at=now + timedelta(seconds=settings.CHECK_EXECUTION_DISPATCH_LEASE_SECONDS)
        )
        _after_commit(lambda: _send(resend))
        changed += len(resend)
    if changed:
        with _finished:
            _finished.notify_all()
    return changed


def reap_and_admit() -> int:
    """The periodic pass (beat, or the embedded beat): expired leases, then every organization that
    has queued executions and may have a free slot (a finish whose admission failed, a restart)."""
    changed = reap_expired()
    # The periodic pass looks at every organization (a system job). One row per organization, not per queued
    # execution: a flooding organization's backlog is not read into memory on every pass.
    waiting = (
        CheckExecution.objects.unscoped()
        .filter(state=ExecutionState.QUEUED)
        .order_by("organization_id")
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for organization_id in list(waiting):
        # Expired leases were all just reaped: admission alone.
        changed += len(admit(organization_id, reap=False))
    return changed


def _channel(execution_id: str) -> str:
    return "dxp_" + execution_id.replace("-", "_")


def _can_listen() -> bool:
    # A LISTEN inside a transaction starts only at its commit: the test suite's transactions never commit.
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _listen(execution_id: str) -> None:
    """In the admission's transaction: LISTEN from its commit on, and a commit that does not wait for the
    disk (see _asynchronous_commits): this request answers only after the worker's durable finish, which
    flushes this commit too (or, past wait_seconds, with a 202 long after the WAL writer flushed it).
    One round trip for both."""
    # An identifier in the statement: only the ids new_execution_id makes are listened to.
    if not EXECUTION_ID.fullmatch(execution_id):
        raise ValueError("not an execution id")
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL synchronous_commit TO off; LISTEN "{_channel(execution_id)}"')


def _unlisten(execution_id: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'UNLISTEN "{_channel(execution_id)}"')
        # A notice that came after the wait ended stays in the connection's backlog: dropped, the connection
        # outlives the request.
        for _notice in connection.connection.notifies(timeout=0):
            pass
    except DatabaseError:  # the connection broke: Django discards it at the end of the request
        logger.warning("could not stop listening for check execution %s", execution_id)


def _announce_finish(execution_id: str) -> None:
    """Wakes whoever waits for this execution: requests of this process (the pool, inline) at once, and on
    PostgreSQL the request of any web node that LISTENs for it (one NOTIFY, delivered at commit)."""
    with _finished:
        _finished.notify_all()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [_channel(execution_id)])


def wait_until_finished(execution: CheckExecution, seconds: float, *, listening: bool = False) -> CheckExecution:
    """The execution once it is done or errored, or as it stands after `seconds`.

    `listening` (submit_execution's `listen` on PostgreSQL): the wait sleeps until the worker's NOTIFY and
    reads the execution once; otherwise it re-reads it (SQLite, and the test suite's transactions).
    At most CHECK_EXECUTION_MAX_WAITERS requests of this process wait at once; the others return at once
    (the caller answers 202), so waiting requests never hold every thread of a web worker.
    """
    try:
        if execution.state in FINISHED_STATES or seconds <= 0:
            return execution
        if not _waiters.acquire(blocking=False):
            return execution
        try:
            if listening:
                return _wait_for_notice(execution, seconds)
            return _poll(execution, seconds)
        finally:
            _waiters.release()
    finally:
        if listening:
            _unlisten(execution.execution_id)


def _wait_for_notice(execution: CheckExecution, seconds: float) -> CheckExecution:
    # Only this execution's channel is listened to on this connection: one notice means it finished.
    for _notice in connection.connection.notifies(timeout=seconds, stop_after=1):
        break
    # With its result's names: a finished execution is answered from this read alone.
    return selectors.execution_detail(execution.organization_id, execution.execution_id) or execution


def _poll(execution: CheckExecution, seconds: float) -> CheckExecution:
    deadline = time.monotonic() + seconds
    # Every 2 ms for the first 40 ms (a quick check on an idle worker finishes in milliseconds), then
    # less and less often, at most every 100 ms.
    interval, started = 0.002, time.monotonic()
    while True:
        current = selectors.execution_detail(execution.organization_id, execution.execution_id)
        if current is None or current.state in FINISHED_STATES:
            return current or execution
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return current
        with _finished:
            _finished.wait(timeout=min(interval, remaining))
        if time.monotonic() - started > 0.04:
            interval = min(interval * 1.5, 0.1)
