"""The set-based path of POST /api/v1/lineage/batch: a whole batch of OpenLineage events in a few statements.

A replay or a backfill is mostly lifecycle events of runs the catalog does not know yet, and static
events. Applied one by one, each costs a transaction's worth of statements; here the whole batch is:
one INSERT of the stored events (duplicates fall out), one quota update, one read of the jobs'
pipelines (plus one insert for new ones), the runs (a locking read, one insert, one update), one
statement for every event's datasets and edges, and one for column lineage. The outcome per event is
the one the single-event path would give, posted in the same order.

It answers None (and writes nothing: its savepoint is rolled back) when the batch is not that simple,
and the caller applies the events one by one: an OTHER event or one with a `parent` facet, a run that
moves on after finishing, one that finished earlier or belongs to another job, the quota running out.
"""

from django.db import connection, transaction

from catalog import services as catalog_services
from catalog.models import RunStatus
from checks import services as checks_services
from lineage import event_facets, event_lineage
from lineage import services as lineage_services
from lineage.api.parsers import UnreadableLine
from lineage.openlineage_events import DATASET_EVENT, RUN_EVENT, parse_event
from orgs import limits
from orgs.errors import InvalidInput, PlanLimitReached
from workflows import batches
from workflows.openlineage import EVENT_QUOTA, _assertions, _run_attributes
from workflows.openlineage import RUN_STATUS_BY_EVENT_TYPE as LIFECYCLE
from workflows.openlineage import TERMINAL_EVENT_TYPES as TERMINAL


class _NotSimple(Exception):
    """The batch needs the event-by-event path."""


def ingest_set_based(organization, raw_events, *, plain_text: str | None = None) -> list | None:
    """`plain_text`: the batch's text (a JSON array of `raw_events`) when lineage.screening.plain_batch found
    nothing in it to mask or refuse; the events are then stored from it as sent."""
    plain = plain_text is not None
    if connection.vendor != "postgresql":
        return None
    items: list = [None] * len(raw_events)
    parsed = []
    for index, raw in enumerate(raw_events):
        if isinstance(raw, UnreadableLine):
            items[index] = batches.BatchItem(index, batches.REFUSED, {"code": "parse_error", "detail": raw.reason})
            continue
        try:
            # parse_event refuses what cannot be stored (a NUL, a lone surrogate, NaN) for this event alone.
            payload, text = (raw, None) if plain else lineage_services.masked_payload(raw)
            event = parse_event(payload, storable=plain)
        except InvalidInput as exc:
            items[index] = batches.BatchItem(
                index, batches.REFUSED, batches.refusal(exc.code, exc.message, exc.fields, {})
            )
            continue
        if event.kind == RUN_EVENT and (event.event_type not in LIFECYCLE or "parent" in event.run_facets):
            return None
        parsed.append((index, event, payload, text))
    if not _runs_are_simple(parsed):
        return None
    try:
        with transaction.atomic():
            _apply(organization, parsed, items, plain_text)
    except _NotSimple:
        return None
    return items


def _runs_are_simple(parsed) -> bool:
    """Each run's events name one job, and nothing follows a terminal event."""
    seen: dict[str, tuple[str, bool]] = {}
    for _, event, _, _ in parsed:
        if event.kind != RUN_EVENT:
            continue
        job, finished = seen.get(event.run_id, (event.job_name, False))
        if finished or job != event.job_name:
            return False
        seen[event.run_id] = (job, event.event_type in TERMINAL)
    return True


def _apply(organization, parsed, items, plain_text) -> None:
    stored = lineage_services.store_events(
        organization=organization,
        events=[(event, payload) for _, event, payload, _ in parsed],
        texts=[text for _, _, _, text in parsed],
        sent=(plain_text, [index + 1 for index, _, _, _ in parsed]) if plain_text is not None else None,
    )
    new = [(index, event) for (index, event, _, _), row in zip(parsed, stored, strict=True) if row is not None]
    for (index, event, _, _), row in zip(parsed, stored, strict=True):
        if row is None:
            items[index] = batches.BatchItem(index, batches.DUPLICATE, _answer(event))
    if not new:
        return
    try:
        limits.consume_monthly(organization, EVENT_QUOTA, amount=len(new))
    except PlanLimitReached:
        raise _NotSimple() from None
    jobs = {event.job_name: event.job_namespace for _, event in new if event.kind != DATASET_EVENT}
    pipelines = catalog_services.pipelines_for_jobs(organization, jobs) if jobs else {}
    runs, statuses = _runs(organization, new, pipelines)
    refs, columns = [], []
    for index, event in new:
        pipeline = pipelines.get(event.job_name) if event.kind != DATASET_EVENT else None
        event_refs, event_columns = event_facets.event_refs(event)
        for ref in event_refs:
            ref.group = index
            ref.pipeline_id = pipeline.pk if pipeline is not None else None
            ref.pipeline_version_id = pipeline.current_version_id if pipeline is not None else None
        refs.extend(event_refs)
        columns.extend(event_columns)
    found = event_lineage.record_many(organization, refs, columns) if refs else {}
    by_event: dict[int, dict] = {}
    for (group, namespace, name), pk in found.items():
        by_event.setdefault(group, {})[(namespace, name)] = pk
    for index, event in new:
        datasets = by_event.get(index, {})
        inputs = {(d.namespace, d.name) for d in event.inputs}
        outputs = {(d.namespace, d.name) for d in event.outputs}
        edges = {(datasets[i], datasets[o]) for i in inputs for o in outputs if datasets[i] != datasets[o]}
        results = 0
        if event.kind == RUN_EVENT and any(d.assertions for d in event.inputs):
            rows = {key: event_lineage.known_row(organization, pk, *key) for key, pk in datasets.items()}
            results = checks_services.record_assertions(
                organization, pipelines[event.job_name], runs[event.run_id], _assertions(event), rows
            )
        answer = _answer(event) | {
            "run_status": statuses.get(index),
            "datasets": len(set(datasets.values())),
            "edges": len(edges) if event.kind != DATASET_EVENT else 0,
            "check_results": results,
        }
        items[index] = batches.BatchItem(index, batches.ACCEPTED, answer)


def _runs(organization, new, pipelines):
    """Each run's planned end state, applied at once; the run status after each event, for its answer."""
    plans: dict[str, dict] = {}
    order: dict[str, list[int]] = {}
    for index, event in new:
        if event.kind != RUN_EVENT:
            continue
        plan = plans.setdefault(event.run_id, {"status": RunStatus.QUEUED, "started_at": None, "finished_at": None})
        status = LIFECYCLE[event.event_type]
        if plan["status"] == RunStatus.QUEUED or status != RunStatus.RUNNING:
            plan["status"] = status
        if event.event_type in TERMINAL:
            plan["finished_at"] = event.event_time
        elif plan["started_at"] is None:
            plan["started_at"] = event.event_time
        plan["pipeline"] = pipelines[event.job_name]
        plan["attributes"] = _run_attributes(event)
        order.setdefault(event.run_id, []).append(index)
    runs = catalog_services.apply_simple_runs(
        organization,
        [catalog_services.RunPlan(run_id=run_id, **plan) for run_id, plan in plans.items()],
    )
    if runs is None:
        raise _NotSimple()
    statuses = {}
    events = dict(new)
    for run_id, indexes in order.items():
        for index in indexes:
            statuses[index] = LIFECYCLE[events[index].event_type]
        statuses[indexes[-1]] = runs[run_id].status
    return runs, statuses


def _answer(event) -> dict:
    return {
        "kind": event.kind,
        "run_id": event.run_id or None,
        "event_type": event.event_type or None,
        "pipeline": event.job_name or None,
    }
