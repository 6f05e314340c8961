"""Retention: history older than an organization's plan window (PLAN_LIMITS "history_days") is purged.

What is history, and which clock ages it (always the catalog's own, never a time a client or producer
sent: a producer dating its events 2099 cannot keep them past the window):

- check executions: finished ones (done, error) by `finished_at`; queued, dispatched or running never;
- check results: by `created_at` (when the catalog recorded them);
- runs: finished ones (success, failed, cancelled) by `updated_at`, the last change the catalog recorded
  (for a finished run, its end); a queued or running run is never purged, however old;
- stored OpenLineage events: by `received_at`;
- alerts: settled ones (delivered, failed) by `settled_at`, when their delivery ended; a pending alert (not
  sent yet, or between retries) never. Their delivery attempts go with them, never on a clock of their own.
Pipelines, datasets, lineage and column-lineage edges are the current catalog, not history: kept.

Each table is purged in batches of RETENTION_BATCH_ROWS: one short transaction selects the oldest
expired rows (on PostgreSQL `FOR UPDATE SKIP LOCKED`: a row that a concurrent request holds, such as a
run a new check result is being attached to, waits for the next pass), detaches the rows that point at
them and stay (a task run whose DAG run goes, a recent result of a purged run: the models' SET_NULL),
deletes what goes with them (an alert's delivery attempts) and then them, one DELETE each; then a pause.
Children go before parents (executions, results, runs),
so every batch commits with valid foreign keys. A pass that stops half-way leaves only whole batches
done: the next pass goes on from there, and a pass over purged history deletes nothing.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertState, DeliveryAttempt
from catalog.models import TERMINAL_RUN_STATUSES, Run
from checks.models import FINISHED_STATES, CheckExecution, CheckResult
from lineage.models import OpenLineageEvent
from orgs import limits
from orgs.models import Organization

# Each kind of history -> the column (the catalog's clock) by which its rows age.
AGED_BY = {
    "check_executions": "finished_at",
    "check_results": "created_at",
    "runs": "updated_at",
    "openlineage_events": "received_at",
    "alerts": "settled_at",
}
# Rows that go with the row they belong to, counted as a kind of their own: kind -> (model, foreign key, counted as).
_DELETED_WITH = {"alerts": (DeliveryAttempt, "alert", "alert_delivery_attempts")}
KINDS = (*AGED_BY, *(counted_as for _, _, counted_as in _DELETED_WITH.values()))
SETTLED_ALERT_STATES = (AlertState.DELIVERED, AlertState.FAILED)


@dataclass
class PurgeOutcome:
    """Rows purged (or, in a dry run, that would be) for one organization, by kind."""

    organization: str
    cutoff: object
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def expired_rows(organization: Organization, cutoff) -> dict[str, QuerySet]:
    """Each kind of history -> the organization's rows past `cutoff`, oldest first."""
    rows = {
        "check_executions": CheckExecution.objects.for_organization(organization).filter(state__in=FINISHED_STATES),
        "check_results": CheckResult.objects.for_organization(organization),
        "runs": Run.objects.for_organization(organization).filter(status__in=TERMINAL_RUN_STATUSES),
        "openlineage_events": OpenLineageEvent.objects.for_organization(organization),
        "alerts": Alert.objects.for_organization(organization).filter(state__in=SETTLED_ALERT_STATES),
    }
    return {
        kind: queryset.filter(**{f"{AGED_BY[kind]}__lt": cutoff}).order_by(AGED_BY[kind], "id")
        for kind, queryset in rows.items()
    }


def _after(rows: QuerySet, column: str, last) -> QuerySet:
    """The rows after the last batch's last one: each batch starts where the previous ended instead of
    walking again past the index entries of the rows just deleted (dead until vacuum)."""
    if last is None:
        return rows
    moment, pk = last
    return rows.filter(**{f"{column}__gte": moment}).filter(Q(**{f"{column}__gt": moment}) | Q(pk__gt=pk))


def _matching(database, column: str, ids: list) -> tuple[str, list]:
    """`column` is one of `ids`: on PostgreSQL one array parameter (5,000 placeholders cost more to bind and
    plan than the statement takes to run), elsewhere an IN list."""
    if database.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _execute(model: type[Model], sql: str, params: list) -> None:
    with connections[router.db_for_write(model)].cursor() as cursor:
        cursor.execute(sql, params)


def _detach(organization: Organization, model: type[Model], field_name: str, ids: list, purged: type[Model]) -> None:
    """The model's rows that point at `ids` through `field_name` and stay lose that link (its SET_NULL).
    When the model is the purged one (a run's parent), the rows among `ids` are left alone: they go next."""
    database = connections[router.db_for_write(model)]
    quote = database.ops.quote_name
    column, pk = quote(model._meta.get_field(field_name).column), quote(model._meta.pk.column)
    points_at, points_params = _matching(database, column, ids)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {column} = NULL "  # noqa: S608 (quoted names and placeholders only)
        f"WHERE {quote('organization_id')} = %s AND {points_at}"
    )
    params = [organization.pk, *points_params]
    if model is purged:
        itself, itself_params = _matching(database, pk, ids)
        sql += f" AND NOT ({itself})"
        params += itself_params
    _execute(model, sql, params)


def _delete_ids(organization: Organization, model: type[Model], ids: list, column: str | None = None) -> int:
    """One DELETE of the rows whose `column` (the key by default) is one of `ids` (the caller detached whatever
    points at them): no collector, no fetch. Returns the rows deleted."""
    database = connections[router.db_for_write(model)]
    quote = database.ops.quote_name
    column = model._meta.get_field(column).column if column else model._meta.pk.column
    these, params = _matching(database, quote(column), ids)
    sql = (
        f"DELETE FROM {quote(model._meta.db_table)} "  # noqa: S608 (quoted names and placeholders only)
        f"WHERE {quote('organization_id')} = %s AND {these}"
    )
    with database.cursor() as cursor:
        cursor.execute(sql, [organization.pk, *params])
        return cursor.rowcount


_MODELS_BY_KIND = {
    "check_executions": CheckExecution,
    "check_results": CheckResult,
    "runs": Run,
    "openlineage_events": OpenLineageEvent,
    "alerts": Alert,
}
# Kind -> the (model, foreign key) pairs that point at its rows and must let go first.
_POINTING_AT = {
    "check_results": [(CheckExecution, "result")],
    "runs": [(Run, "parent"), (CheckResult, "run")],
}


def _detach_and_delete(organization: Organization, kind: str, ids: list) -> int:
    """Deletes the rows `ids` of `kind`; returns how many rows went with them (_DELETED_WITH)."""
    purged = _MODELS_BY_KIND[kind]
    for model, field_name in _POINTING_AT.get(kind, ()):
        _detach(organization, model, field_name, ids, purged)
    went_with = 0
    if kind in _DELETED_WITH:
        model, field_name, _ = _DELETED_WITH[kind]
        went_with = _delete_ids(organization, model, ids, column=field_name)
    _delete_ids(organization, purged, ids)
    return went_with


def _purge_kind(
    organization: Organization,
    kind: str,
    rows: QuerySet,
    batch_rows: int,
    pause: Callable[[], None],
) -> tuple[int, int]:
    """(rows of `kind` purged, rows purged with them)."""
    purged, went_with, last, column = 0, 0, None, AGED_BY[kind]
    while True:
        with transaction.atomic(using=router.db_for_write(rows.model)):
            batch = _after(rows, column, last).select_for_update(skip_locked=True).values_list(column, "pk")
            found = list(batch[:batch_rows])
            if found:
                went_with += _detach_and_delete(organization, kind, [pk for _, pk in found])
        purged += len(found)
        if len(found) < batch_rows:
            return purged, went_with
        last = found[-1]
        pause()


def _count(organization: Organization, kind: str, rows: QuerySet) -> tuple[int, int]:
    """What `_purge_kind` would purge, counted."""
    went_with = 0
    if kind in _DELETED_WITH:
        model, field_name, _ = _DELETED_WITH[kind]
        went_with = (
            model.objects.for_organization(organization)
            .filter(**{f"{field_name}__in": rows.order_by().values("pk")})
            .count()
        )
    return rows.count(), went_with


def purge_organization(
    organization: Organization,
    *,
    now=None,
    dry_run: bool = False,
    batch_rows: int | None = None,
    pause_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PurgeOutcome:
    """Purges the organization's history past its plan's window (nothing when the plan keeps everything)."""
    cutoff = limits.history_cutoff(organization, now=now or timezone.now())
    outcome = PurgeOutcome(organization=organization.slug, cutoff=cutoff)
    if cutoff is None:
        return outcome
    batch_rows = batch_rows or settings.RETENTION_BATCH_ROWS
    if pause_seconds is None:
        pause_seconds = settings.RETENTION_BATCH_PAUSE_MS / 1000

    def pause():
        if pause_seconds:
            sleep(pause_seconds)

    for kind, rows in expired_rows(organization, cutoff).items():
        if dry_run:
            purged, went_with = _count(organization, kind, rows)
        else:
            purged, went_with = _purge_kind(organization, kind, rows, batch_rows, pause)
        outcome.counts[kind] = purged
        if kind in _DELETED_WITH:
            outcome.counts[_DELETED_WITH[kind][2]] = went_with
    return outcome


def organizations_with_a_window() -> Iterable[Organization]:
    plans = [plan for plan, plan_limits in settings.PLAN_LIMITS.items() if plan_limits.get("history_days") is not None]
    return Organization.objects.filter(plan__in=plans).order_by("pk")


def purge_history(**options) -> list[PurgeOutcome]:
    """The periodic pass: every organization whose plan has a history window, one after the other."""
    return [purge_organization(organization, **options) for organization in organizations_with_a_window()]
