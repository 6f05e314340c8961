"""Applying a batch of events one by one: each in its own savepoint, so a refused event leaves nothing
behind and the good ones stay; one outcome per event, in the order sent.

Used by POST /api/v1/lineage/batch (OpenLineage events) and POST /api/v1/runs/batch (run events).
The whole batch is one transaction (one commit instead of one per event); a failure that is not the
event's fault (the database going away) aborts it all and the client retries the batch, whose
applied events then come back as duplicates.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from rest_framework.exceptions import ValidationError

from lineage.api.parsers import UnreadableLine
from orgs.errors import DomainError, InvalidInput

MAX_BATCH_EVENTS = 1000
ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"


@dataclass(frozen=True)
class BatchItem:
    index: int
    status: str
    # What the single-event endpoint would have answered; for a refusal, the reason (code, field
    # messages or detail, and the error's data such as a plan limit's usage).
    detail: dict = field(default_factory=dict)


def check_batch(events) -> Sequence:
    """The batch's events, or InvalidInput when the body is not a list of at most MAX_BATCH_EVENTS."""
    if not isinstance(events, list):
        raise InvalidInput(fields={"events": ["The body must be a JSON array of events, or NDJSON (one per line)."]})
    if not events:
        raise InvalidInput(fields={"events": ["The batch is empty."]})
    if len(events) > MAX_BATCH_EVENTS:
        raise InvalidInput(
            fields={"events": [f"At most {MAX_BATCH_EVENTS} events per batch; this one has {len(events)}."]}
        )
    return events


def apply_each(events: Sequence, apply_one: Callable[[object], tuple[str, dict]]) -> list[BatchItem]:
    """`apply_one(event)` -> (ACCEPTED or DUPLICATE, detail) or raises a domain or validation error."""
    items = []
    with transaction.atomic():
        for index, event in enumerate(events):
            if isinstance(event, UnreadableLine):
                items.append(BatchItem(index, REFUSED, {"code": "parse_error", "detail": event.reason}))
                continue
            try:
                with transaction.atomic():
                    status, detail = apply_one(event)
            except DomainError as exc:
                items.append(BatchItem(index, REFUSED, refusal(exc.code, exc.message, exc.fields, exc.extra)))
            except ValidationError as exc:
                items.append(BatchItem(index, REFUSED, refusal("invalid", "", exc.detail, {})))
            else:
                items.append(BatchItem(index, status, detail))
    return items


def refusal(code: str, message: str, fields, extra: dict) -> dict:
    body = {"code": code}
    if fields:
        body["fields"] = fields
    else:
        body["detail"] = message
    return body | extra


def _event_answer(item: BatchItem) -> dict:
    if item.status == REFUSED:
        return {"index": item.index, "status": item.status, "reason": item.detail}
    return {"index": item.index, "status": item.status, **item.detail}


def summary(items: list[BatchItem]) -> dict:
    counts = {ACCEPTED: 0, DUPLICATE: 0, REFUSED: 0}
    for item in items:
        counts[item.status] += 1
    return {
        **counts,
        "events": [_event_answer(item) for item in items],
    }
