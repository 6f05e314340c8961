"""The generated pipeline.json: validation with field messages, canonical form and hash.

A spec declares datasets by id: sources, transforms (each reading `inputs` that are sources or
earlier transforms) and targets. A target usually shares its id with the transform that builds
it (the same dataset, materialized at the target's table); a target may instead name what it is
loaded from with `inputs` (or `dataset`), which becomes a lineage edge.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from croniter import croniter
from django.core.exceptions import ValidationError

from catalog.lateness import MAX_GRACE_MINUTES, fires, is_known_timezone
from checks.models import Severity

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,49}$")
# croniter's `R` field (R, R(0-30), R/5) is a random value drawn each time the schedule is read: never the same slots.
RANDOM_CRON_FIELD = re.compile(r"^r(\(\d+-\d+\))?(/\d+)?$", re.IGNORECASE)


@dataclass
class PipelineSpec:
    name: str
    version: str
    spec: dict
    spec_hash: str
    schedule: str = ""
    timezone: str = "UTC"
    # None: the spec does not say; the pipeline keeps what it has (a pause set in the console survives a deploy).
    paused: bool | None = None
    late_grace_minutes: int | None = None
    owner: str = ""
    description: str = ""
    tags: list = field(default_factory=list)
    # dataset id -> {"connection_id", "table"} (physical location, when declared)
    datasets: dict = field(default_factory=dict)
    # (source dataset id, target dataset id), in declaration order, without duplicates
    edges: list = field(default_factory=list)
    checks: list = field(default_factory=list)


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec: dict) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


class _Errors:
    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str):
        self.by_field.setdefault(field_name, []).append(message)

    def raise_if_any(self):
        if self.by_field:
            raise ValidationError(self.by_field)


def _text(body, key, errors, *, required=False, max_length=None) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            errors.add(key, "This field is required.")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "version":
        value = str(value)  # "version": 3 means "3"
    if not isinstance(value, str):
        errors.add(key, "Must be a string.")
        return ""
    if max_length and len(value) > max_length:
        errors.add(key, f"At most {max_length} characters.")
    return value


def _items(body, key, errors) -> list[dict]:
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        errors.add(key, "Must be a list of objects.")
        return []
    return value


def _item_id(item, where, errors) -> str | None:
    item_id = item.get("id")
    if not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
        errors.add(where, "Needs an `id`: letters, digits, '_', '.', '-' (at most 200).")
        return None
    return item_id


def _declared(body, key, errors, taken, duplicate: str):
    """(where, id, item) for each item of `body[key]` with a valid id not already in `taken` (checked as
    the caller fills it); an item without one gets its field message (`duplicate` formats the id) and is skipped."""
    for index, item in enumerate(_items(body, key, errors)):
        where = f"{key}[{index}]"
        item_id = _item_id(item, where, errors)
        if item_id is None:
            continue
        if item_id in taken:
            errors.add(where, duplicate.format(item_id))
            continue
        yield where, item_id, item


def _id_list(value, where, errors) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(where, "Must be a list of dataset ids.")
        return []
    return value


def _location(item) -> dict:
    return {
        "connection_id": item.get("connection_id") if isinstance(item.get("connection_id"), str) else "",
        "table": item.get("table") if isinstance(item.get("table"), str) else "",
    }


def parse(body) -> PipelineSpec:
    """Validate a pipeline.json body; raises ValidationError with one message list per field."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": ["The body must be a pipeline.json object."]})
    errors = _Errors()
    name = _text(body, "name", errors, required=True)
    if name and not NAME_PATTERN.match(name):
        errors.add("name", "Letters, digits, '_', '.', '-'; starting with a letter or digit; at most 200.")
    version = _text(body, "version", errors, required=True)
    if version and not VERSION_PATTERN.match(version):
        errors.add("version", 'Letters, digits and \'_.+-\', at most 50 characters (for example "3" or "1.2.0").')
    schedule = _text(body, "schedule", errors, max_length=100)
    timezone = _timezone(body, errors)
    if schedule and not croniter.is_valid(schedule):
        errors.add("schedule", f'{schedule!r} is not a valid cron expression (for example "0 6 * * *").')
    elif schedule and any(RANDOM_CRON_FIELD.match(part) for part in schedule.split()):
        errors.add(
            "schedule", f"{schedule!r} has a random field (R), drawn anew at each reading: no slot could be expected."
        )
    elif schedule and not fires(schedule, timezone, datetime.now(UTC)):
        errors.add("schedule", f"{schedule!r} never fires (no such date), so no run could ever be expected.")
    paused, late_grace_minutes = _lateness_settings(body, errors)
    owner = _text(body, "owner", errors, max_length=200)
    description = _text(body, "description", errors)
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) and 0 < len(tag) <= 100 for tag in tags):
        errors.add("tags", "Must be a list of non-empty strings.")
        tags = []

    datasets: dict[str, dict] = {}
    edges: list[tuple[str, str]] = []
    declared_upstream: set[str] = set()

    for _where, source_id, source in _declared(body, "sources", errors, datasets, "Duplicate id {!r}."):
        datasets[source_id] = _location(source)
        declared_upstream.add(source_id)

    transform_ids: set[str] = set()
    transforms = _declared(
        body, "transforms", errors, datasets, "Duplicate id {!r}: a source or an earlier transform has it."
    )
    for where, transform_id, transform in transforms:
        inputs = _id_list(transform.get("inputs", []), f"{where}.inputs", errors)
        if not inputs:
            errors.add(f"{where}.inputs", "A transform needs at least one input.")
        for input_id in inputs:
            if input_id == transform_id or input_id not in declared_upstream:
                errors.add(
                    f"{where}.inputs",
                    f"{input_id!r} is neither a source nor an earlier transform of this pipeline.",
                )
            elif (input_id, transform_id) not in edges:
                edges.append((input_id, transform_id))
        datasets[transform_id] = _location(transform)
        declared_upstream.add(transform_id)
        transform_ids.add(transform_id)

    target_ids: set[str] = set()
    for where, target_id, target in _declared(body, "targets", errors, target_ids, "Duplicate target id {!r}."):
        if target_id in datasets and target_id not in transform_ids:
            errors.add(where, f"Duplicate id {target_id!r}: a source has it (a target shares ids with transforms).")
            continue
        target_ids.add(target_id)
        feeding = target.get("inputs", target.get("dataset", []))
        for input_id in _id_list(feeding, f"{where}.inputs", errors):
            if input_id not in declared_upstream:
                errors.add(f"{where}.inputs", f"{input_id!r} is neither a source nor a transform of this pipeline.")
            elif input_id != target_id and (input_id, target_id) not in edges:
                edges.append((input_id, target_id))
        location = _location(target)
        # The target says where the dataset is materialized: it wins over the transform's (usually empty) location.
        datasets[target_id] = {
            key: location[key] or datasets.get(target_id, {}).get(key, "") for key in ("connection_id", "table")
        }

    checks = _parse_checks(body, datasets, errors)
    errors.raise_if_any()
    spec = {**body, "version": version}
    return PipelineSpec(
        name=name,
        version=version,
        spec=spec,
        spec_hash=spec_hash(spec),
        schedule=schedule,
        timezone=timezone,
        paused=paused,
        late_grace_minutes=late_grace_minutes,
        owner=owner,
        description=description,
        tags=tags,
        datasets=datasets,
        edges=edges,
        checks=checks,
    )


def _timezone(body, errors) -> str:
    """The IANA zone the schedule is read in; UTC when the spec does not say."""
    name = _text(body, "timezone", errors, max_length=64)
    if not name:
        return "UTC"
    if not is_known_timezone(name):
        errors.add("timezone", f'{name[:64]!r} is not an IANA time zone name (for example "Europe/Paris" or "UTC").')
        return "UTC"
    return name


def _lateness_settings(body, errors) -> tuple[bool | None, int | None]:
    """(paused, late_grace_minutes), each None when the spec leaves it out (catalog.lateness)."""
    paused = body.get("paused")
    if paused is not None and not isinstance(paused, bool):
        errors.add("paused", "Must be true or false.")
        paused = None
    grace = body.get("late_grace_minutes")
    if grace is not None:
        if isinstance(grace, bool) or not isinstance(grace, int):
            errors.add("late_grace_minutes", "Must be a whole number of minutes.")
            grace = None
        elif not 0 <= grace <= MAX_GRACE_MINUTES:
            errors.add("late_grace_minutes", f"Must be between 0 and {MAX_GRACE_MINUTES} (a week).")
            grace = None
    return paused, grace


def _number(value, where, errors, default=0.0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(where, "Must be a number.")
        return default
    return float(value)


def _parse_checks(body, datasets, errors) -> list[dict]:
    checks, seen = [], set()
    for where, check_id, check in _declared(body, "checks", errors, seen, "Duplicate check id {!r}."):
        seen.add(check_id)
        dataset_id = check.get("dataset")
        if not isinstance(dataset_id, str) or dataset_id not in datasets:
            errors.add(f"{where}.dataset", f"{dataset_id!r} is not a source, transform or target of this pipeline.")
            continue
        severity = check.get("severity") or Severity.ERROR
        if severity not in Severity.values:
            errors.add(f"{where}.severity", f"One of {', '.join(Severity.values)}.")
        sql = check.get("sql") or ""
        if not isinstance(sql, str):
            errors.add(f"{where}.sql", "Must be a string.")
            sql = ""
        connection_id = check.get("connection_id") or datasets[dataset_id]["connection_id"]
        if not isinstance(connection_id, str):
            errors.add(f"{where}.connection_id", "Must be a string.")
            connection_id = ""
        check_type = check.get("type") or ""
        if not isinstance(check_type, str) or len(check_type) > 50:
            errors.add(f"{where}.type", "Must be a string of at most 50 characters.")
            check_type = ""
        checks.append(
            {
                "check_id": check_id,
                "dataset_id": dataset_id,
                "connection_id": connection_id,
                "type": check_type,
                "severity": severity,
                "sql": sql,
                "threshold": _number(check.get("threshold"), f"{where}.threshold", errors),
            }
        )
    return checks
