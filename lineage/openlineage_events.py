"""Reading one OpenLineage event (RunEvent, DatasetEvent or JobEvent, spec 2-0-2) into plain values.

Accept what the spec or the reference implementation accepts, refuse only what can never be valid:
`schemaURL` is optional, a time with nanoseconds is cut to microseconds, a time without a zone is
UTC, names are any non-empty string within the column sizes, unknown keys and facets are kept (they
stay in the stored payload). A refusal is `InvalidInput` with a message per field.

Plain Python rather than a DRF serializer: this runs for every event of every producer, and the
serializer's field machinery cost more CPU than the database writes (see docs/benchmarks.md).
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from orgs.errors import InvalidInput

RUN_EVENT, JOB_EVENT, DATASET_EVENT = "run", "job", "dataset"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
# Column sizes of the rows the names end up in (lineage.Dataset, catalog.Pipeline, catalog.Run).
MAX_NAMESPACE = 500
MAX_DATASET_NAME = 500
MAX_JOB_NAME = 200
MAX_RUN_ID = 250
MAX_PRODUCER = 1000
SEVERITIES_KEPT = 20
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024
# An event's edges are its distinct inputs x outputs: 500 x 500 names (60 KB) were 250,000 edge rows,
# and an 8 MB event billions, planned in memory before any insert.
DEFAULT_MAX_EDGES_PER_EVENT = 10_000
# json.dumps writes a NUL character as \u0000; a backslash before it is itself escaped (an even run).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass
class EventDataset:
    namespace: str
    name: str
    facets: dict
    input_facets: dict
    output_facets: dict
    assertions: list[dict] = field(default_factory=list)


@dataclass
class ParsedEvent:
    kind: str  # RUN_EVENT, JOB_EVENT or DATASET_EVENT
    event_type: str  # the RunEvent's eventType; "" for static events
    event_time: datetime
    producer: str
    job_namespace: str = ""
    job_name: str = ""
    job_facets: dict = field(default_factory=dict)
    run_id: str = ""
    run_facets: dict = field(default_factory=dict)
    inputs: list[EventDataset] = field(default_factory=list)
    outputs: list[EventDataset] = field(default_factory=list)
    dataset: EventDataset | None = None  # a DatasetEvent's dataset


def kind_of(payload: dict) -> str:
    """A RunEvent has a run; a DatasetEvent a dataset; a JobEvent a job and no run."""
    if "run" in payload:
        return RUN_EVENT
    if "dataset" in payload and "job" not in payload:
        return DATASET_EVENT
    if "job" in payload:
        return JOB_EVENT
    return RUN_EVENT  # nothing to go on: the RunEvent's messages say what is missing


def parse_event(payload, *, storable: bool = False) -> ParsedEvent:
    """The event's values, or InvalidInput naming every field that can never be valid. `storable`: the
    caller has shown that `unstorable` finds nothing (lineage.screening, once for a whole batch's text,
    for a fraction of this check's cost per event)."""
    if not isinstance(payload, dict):
        raise InvalidInput(fields={"non_field_errors": ["An OpenLineage event must be a JSON object."]})
    problem = "" if storable else unstorable(payload)
    if problem:
        raise InvalidInput(fields={"non_field_errors": [problem]})
    errors: dict[str, list] = {}
    kind = kind_of(payload)
    event_time = _event_time(payload.get("eventTime"), errors)
    producer = _string(payload, "producer", errors, MAX_PRODUCER, required=True)
    if "schemaURL" in payload and payload["schemaURL"] is not None and not isinstance(payload["schemaURL"], str):
        errors["schemaURL"] = ["Must be a string (the URL of the spec's schema) when given."]
    parsed = ParsedEvent(kind=kind, event_type="", event_time=event_time, producer=producer or "")
    if kind == RUN_EVENT:
        event_type = payload.get("eventType")
        if event_type is None:
            event_type = "OTHER"  # the spec makes eventType optional; OTHER carries no lifecycle step
        if event_type not in EVENT_TYPES:
            errors["eventType"] = [f"{str(event_type)[:50]!r} is not one of {', '.join(EVENT_TYPES)}."]
        parsed.event_type = event_type if isinstance(event_type, str) else ""
        run = _object(payload, "run", errors, required=True)
        if run is not None:
            run_errors: dict[str, list] = {}
            parsed.run_id = _string(run, "runId", run_errors, MAX_RUN_ID, required=True) or ""
            parsed.run_facets = _facets(run, "facets", run_errors)
            if run_errors:
                errors["run"] = [run_errors]
    if kind in (RUN_EVENT, JOB_EVENT):
        job = _object(payload, "job", errors, required=True)
        if job is not None:
            job_errors: dict[str, list] = {}
            parsed.job_namespace = _string(job, "namespace", job_errors, MAX_NAMESPACE, required=True) or ""
            parsed.job_name = _string(job, "name", job_errors, MAX_JOB_NAME, required=True) or ""
            parsed.job_facets = _facets(job, "facets", job_errors)
            if job_errors:
                errors["job"] = [job_errors]
        parsed.inputs = _datasets(payload, "inputs", errors)
        parsed.outputs = _datasets(payload, "outputs", errors)
        _check_edge_count(parsed, errors)
    else:
        dataset_errors: dict[str, list] = {}
        parsed.dataset = _dataset(payload.get("dataset"), dataset_errors)
        if dataset_errors:
            errors["dataset"] = [dataset_errors]
    if errors:
        raise InvalidInput(fields=errors)
    return parsed


def unstorable(payload) -> str:
    """Why the event cannot be stored as sent, or "". PostgreSQL refuses a NUL character in text and
    jsonb, UTF-8 has no lone surrogates (JSON's \\ud800 escape), and JSON has no NaN or infinity
    (1e999 reads as one): caught here, each event of a batch is refused on its own instead of the
    database refusing the whole batch. A batch carries more bytes than one event may: the event
    size cap applies to each of its events too. One C-speed serialisation; no walk of the payload."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return "The event holds a number JSON cannot store (NaN, Infinity, or one past 1e308 such as 1e999)."
    if _NUL_ESCAPE.search(text):
        return "The event holds a NUL character (\\u0000), which cannot be stored."
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "The event holds a lone UTF-16 surrogate (such as \\ud800), which is not text."
    cap = getattr(settings, "DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES)
    if size > cap:
        return f"The event is {size} bytes; at most {cap} (DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES)."
    return ""


def _check_edge_count(parsed: ParsedEvent, errors: dict) -> None:
    inputs = len({(d.namespace, d.name) for d in parsed.inputs})
    outputs = len({(d.namespace, d.name) for d in parsed.outputs})
    cap = getattr(settings, "DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT", DEFAULT_MAX_EDGES_PER_EVENT)
    if inputs * outputs > cap:
        errors["outputs"] = [
            f"{inputs} inputs x {outputs} outputs make {inputs * outputs} lineage edges; at most {cap} per event "
            "(DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT): split the job's lineage over several events."
        ]


def _event_time(value, errors) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        errors["eventTime"] = ["Required: an ISO 8601 date-time such as 2026-11-26T06:00:00Z."]
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = _with_long_fraction(text)
    if when is None:
        errors["eventTime"] = [f"{text[:60]!r} is not an ISO 8601 date-time (e.g. 2026-11-26T06:00:00.123Z)."]
        return None
    # No zone: UTC, as the reference implementation reads it.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _with_long_fraction(text: str) -> datetime | None:
    """Times whose fraction Python will not read as is (more than nine digits, or a comma)."""
    text = text.replace(",", ".")
    head, dot, rest = text.partition(".")
    if not dot:
        return None
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if digits == 0:
        return None
    try:
        return datetime.fromisoformat(f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}")
    except ValueError:
        return None


def _string(container: dict, key: str, errors: dict, max_length: int, *, required: bool) -> str | None:
    value = container.get(key)
    if value is None:
        if required:
            errors[key] = ["This field is required."]
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        errors[key] = ["Must be a non-empty string."]
        return None
    if len(value) > max_length:
        errors[key] = [f"At most {max_length} characters (this one has {len(value)})."]
        return None
    return value


def _object(container: dict, key: str, errors: dict, *, required: bool) -> dict | None:
    value = container.get(key)
    if value is None:
        if required:
            errors[key] = ["This field is required."]
        return None
    if not isinstance(value, dict):
        errors[key] = ["Must be a JSON object."]
        return None
    return value


def _facets(container: dict, key: str, errors: dict) -> dict:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[key] = ["Facets must be a JSON object (facet name -> facet)."]
        return {}
    return value


def _datasets(payload: dict, key: str, errors: dict) -> list[EventDataset]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors[key] = ["Must be a list of datasets ({namespace, name, facets})."]
        return []
    found, item_errors = [], {}
    for index, item in enumerate(value):
        problems: dict[str, list] = {}
        dataset = _dataset(item, problems)
        if problems:
            item_errors[index] = problems
        elif dataset is not None:
            found.append(dataset)
    if item_errors:
        errors[key] = [{str(index): problems} for index, problems in item_errors.items()]
    return found


def _dataset(item, problems: dict) -> EventDataset | None:
    if not isinstance(item, dict):
        problems["non_field_errors"] = ["A dataset must be a JSON object ({namespace, name, facets})."]
        return None
    namespace = _string(item, "namespace", problems, MAX_NAMESPACE, required=True)
    name = _string(item, "name", problems, MAX_DATASET_NAME, required=True)
    facets = _facets(item, "facets", problems)
    input_facets = _facets(item, "inputFacets", problems)
    output_facets = _facets(item, "outputFacets", problems)
    assertions = []
    # The spec puts dataQualityAssertions in inputFacets; some producers put it in facets.
    for facets_key, holder in (("inputFacets", input_facets), ("facets", facets)):
        facet = holder.get("dataQualityAssertions")
        if facet is None:
            continue
        assertions, assertion_errors = _assertions(facet)
        if assertion_errors:
            problems[facets_key] = [{"dataQualityAssertions": assertion_errors}]
        break
    if problems:
        return None
    return EventDataset(
        namespace=namespace,
        name=name,
        facets=facets,
        input_facets=input_facets,
        output_facets=output_facets,
        assertions=assertions,
    )


def _assertions(facet) -> tuple[list[dict], dict]:
    if not isinstance(facet, dict) or not isinstance(facet.get("assertions"), list):
        return [], {"assertions": ["Must be a list of {assertion, success, column?} objects."]}
    kept, errors = [], {}
    for index, item in enumerate(facet["assertions"]):
        if not isinstance(item, dict):
            errors[str(index)] = ["Must be a JSON object."]
            continue
        problems = {}
        label = item.get("assertion")
        if not isinstance(label, str) or not label or len(label) > 150:
            problems["assertion"] = ["Required: the assertion's name, at most 150 characters."]
        success = item.get("success")
        if not isinstance(success, bool):
            problems["success"] = ["Required: true or false."]
        optional = {}
        for key, limit in (("column", 150), ("name", 150), ("severity", SEVERITIES_KEPT), ("content", None)):
            value = item.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or (limit is not None and len(value) > limit):
                problems[key] = [f"Must be a string{f' of at most {limit} characters' if limit else ''}."]
            else:
                optional[key] = value
        if problems:
            errors[str(index)] = [problems]
        else:
            kept.append({"assertion": label, "success": success, **optional})
    return kept, ({"assertions": [errors]} if errors else {})
