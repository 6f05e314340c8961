"""Writes for checks: recording results and executing checks against warehouses.

Both API endpoints, the demo seeder and any command go through these two functions. Check definitions
come from pipeline registration (`create_check_definitions`, called by workflows.registration), and
results also from OpenLineage dataQualityAssertions (`record_assertions`, called by workflows.openlineage).
The rules live here: a check passes when violations <= threshold (0 when not given); a result
id makes a post idempotent; ids in a request resolve inside the caller's organization; SQL is
verified read-only before anything runs; warehouse trouble becomes a recorded `error` result
whose message carries no secret.
"""

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from catalog import services as catalog_services
from checks import selectors
from checks.connectors import (
    ConnectionRefused,
    QueryRows,
    QueryTag,
    WarehouseError,
    WarehouseQueryError,
    WarehouseUnavailable,
    connector_for,
)
from checks.models import CheckDefinition, CheckResult, CheckStatus, Severity
from checks.sql_safety import CheckedSQL, UnsafeSQL, check_read_only
from config.logging import redact, redact_values, secrets_in_play
from orgs.errors import Conflict
from orgs.limits import consume_monthly
from orgs.models import Organization

logger = logging.getLogger(__name__)

# Two rows are fetched so that a query returning several rows is reported, not silently cut.
MAX_ROWS = 2
MAX_ERROR_MESSAGE = 2000


class ResultConflict(Conflict):
    """The result id was already used for a different result."""

    default_message = "This result_id was already recorded with different content."

    def __init__(self, result_id: str):
        self.result_id = result_id
        super().__init__()


@dataclass(frozen=True)
class CheckContext:
    definition: CheckDefinition | None
    pipeline: object | None
    run: object | None
    dataset: object | None
    severity: str
    threshold: float


@dataclass(frozen=True)
class ExecutionOutcome:
    result: CheckResult
    created: bool
    # "unavailable", "timeout", "query" when the warehouse failed; None otherwise.
    error_kind: str | None = None


def new_result_id() -> str:
    return f"res-{secrets.token_hex(10)}"


def status_for(violations: float, threshold: float) -> str:
    return CheckStatus.PASS if violations <= threshold else CheckStatus.FAIL


def resolve_context(
    organization: Organization,
    *,
    check_id: str,
    pipeline_name: str | None = None,
    run_id: str | None = None,
    dataset_id: str | None = None,
    severity: str | None = None,
    threshold: float | None = None,
) -> CheckContext:
    """Resolves the ids of a request in the organization. A registered definition supplies the
    pipeline, dataset, severity and threshold; the request's own values serve ad-hoc checks."""
    run = selectors.find_run(organization, run_id)
    pipeline = selectors.find_pipeline(organization, pipeline_name)
    if run is not None and pipeline is not None and run.pipeline_id != pipeline.pk:
        raise ValidationError({"run_id": [f"Run {run_id!r} belongs to pipeline {run.pipeline.name!r}."]})
    pipeline = pipeline or (run.pipeline if run is not None else None)
    definition = selectors.find_check_definition(organization, check_id, pipeline)
    dataset = selectors.find_dataset(organization, dataset_id)
    if definition is not None:
        return CheckContext(
            definition=definition,
            pipeline=definition.pipeline,
            run=run,
            dataset=dataset or definition.dataset,
            severity=definition.severity,
            threshold=definition.threshold,
        )
    return CheckContext(
        definition=None,
        pipeline=pipeline,
        run=run,
        dataset=dataset,
        severity=severity or Severity.ERROR,
        threshold=0.0 if threshold is None else float(threshold),
    )


def _same_result(existing: CheckResult, candidate: CheckResult) -> bool:
    fields = ("check_id", "status", "violations", "threshold", "run_id", "pipeline_id")
    return all(getattr(existing, name) == getattr(candidate, name) for name in fields)


class RunPurged(Exception):
    """The result's run was deleted (retention) after the request looked it up."""


def _insert(candidate: CheckResult) -> None:
    if candidate.run is None:
        candidate.save()  # one statement, autocommitted: no BEGIN/COMMIT round trips
        return
    # The run was looked up earlier: held from here to the commit, so that retention cannot purge it under
    # the result (its foreign key would fail at commit, a 500).
    with transaction.atomic():
        if not catalog_services.hold_run(candidate.run):
            raise RunPurged
        candidate.save()


def _save_idempotently(candidate: CheckResult) -> tuple[CheckResult, bool]:
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint keeps the caller's transaction usable on a duplicate
                _insert(candidate)
        else:
            _insert(candidate)
        return candidate, True
    except IntegrityError:
        existing = (
            CheckResult.objects.for_organization(candidate.organization_id)
            .filter(result_id=candidate.result_id)
            .first()
        )
        if existing is None:
            raise
        if not _same_result(existing, candidate):
            raise ResultConflict(candidate.result_id) from None
        return existing, False


def _save_result(
    organization: Organization,
    context: CheckContext,
    *,
    check_id: str,
    result_id: str | None,
    connection_id: str,
    status: str,
    violations: float | None,
    sql: str,
    duration_ms: float | None,
    executed_at,
    error_message: str,
    keep_without_purged_run: bool = False,
) -> tuple[CheckResult, bool]:
    """The one place a result row is built from a resolved context (recorded or executed).

    A run purged since the context was resolved is the 400 of any unknown run; with `keep_without_purged_run`
    (a check that has already run against the warehouse) the result is kept without it, as the purge leaves
    the results of the runs it deletes."""
    candidate = CheckResult(
        organization=organization,
        result_id=result_id or new_result_id(),
        check_id=check_id,
        check_definition=context.definition,
        pipeline=context.pipeline,
        run=context.run,
        dataset=context.dataset,
        connection_id=connection_id,
        status=status,
        violations=violations,
        threshold=context.threshold,
        severity=context.severity,
        sql=sql,
        duration_ms=duration_ms,
        executed_at=executed_at or timezone.now(),
        error_message=error_message,
    )
    try:
        return _save_idempotently(candidate)
    except RunPurged:
        if not keep_without_purged_run:
            raise ValidationError({"run_id": [f"No run {context.run.run_id!r} in this organization."]}) from None
    candidate.run = None
    return _save_idempotently(candidate)


def _existing_result(organization: Organization, result_id: str | None) -> CheckResult | None:
    if not result_id:
        return None
    return selectors.result_list(organization).filter(result_id=result_id).first()


def record_result(
    organization: Organization,
    *,
    check_id: str,
    status: str | None = None,
    violations: float | None = None,
    threshold: float | None = None,
    severity: str | None = None,
    result_id: str | None = None,
    run_id: str | None = None,
    pipeline_name: str | None = None,
    dataset_id: str | None = None,
    connection_id: str = "",
    sql: str = "",
    duration_ms: float | None = None,
    executed_at=None,
    error_message: str = "",
) -> tuple[CheckResult, bool]:
    """Records a result computed elsewhere. Returns (result, created); the same result id posted
    again with the same content answers the stored result; with other content, ResultConflict."""
    context = resolve_context(
        organization,
        check_id=check_id,
        pipeline_name=pipeline_name,
        run_id=run_id,
        dataset_id=dataset_id,
        severity=severity,
        threshold=threshold,
    )
    if status is None:
        if violations is None:
            raise ValidationError({"violations": ["Give violations (or a status of 'error')."]})
        status = status_for(violations, context.threshold)
    elif status != CheckStatus.ERROR:
        if violations is None:
            raise ValidationError({"violations": [f"A '{status}' result needs its violations."]})
        expected = status_for(violations, context.threshold)
        if status != expected:
            raise ValidationError(
                {
                    "status": [
                        f"{violations:g} violations against threshold {context.threshold:g} make the status "
                        f"'{CheckStatus(expected).value}', not '{status}'."
                    ]
                }
            )
    return _save_result(
        organization,
        context,
        check_id=check_id,
        result_id=result_id,
        connection_id=connection_id or (context.definition.connection_id if context.definition else ""),
        status=status,
        violations=violations,
        sql=sql,
        duration_ms=duration_ms,
        executed_at=executed_at,
        # Posted by a script that may quote a DSN or token verbatim: stored only after redaction.
        error_message=redact(error_message) if status == CheckStatus.ERROR else "",
    )


def scrub(message: str, secret_values: list[str] = ()) -> str:
    """The warehouse's message without any secret, bounded. Masked: any run of 8+ characters of a value the
    connector holds or that was resolved in this request (config.logging.remember_secret), case-insensitively
    and URL-encoded or JSON-escaped too, since servers echo secrets truncated (PostgreSQL cuts identifiers
    at 63 characters), folded or quoted; a short value whole; DSN passwords, keys and tokens by pattern."""
    values = {str(value) for value in secret_values if value} | set(secrets_in_play())
    # Bounded before and after: the masking scans every position, and a mask may lengthen the text.
    return redact(redact_values(message[: MAX_ERROR_MESSAGE * 4], values))[:MAX_ERROR_MESSAGE]


def _violations(rows: QueryRows) -> float:
    if not rows.rows:
        raise WarehouseQueryError("The SQL returned no row; a check returns one row holding the number of violations.")
    if len(rows.rows) > 1:
        raise WarehouseQueryError("The SQL returned more than one row; a check returns exactly one row.")
    row = rows.rows[0]
    names = [str(name).lower() for name in rows.columns]
    if not row:
        raise WarehouseQueryError("The SQL returned a row without columns.")
    value = row[names.index("violations")] if "violations" in names else row[0]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not math.isfinite(float(value)):
        raise WarehouseQueryError(
            f"The first (or violations) column must be a number; the SQL returned {type(value).__name__}."
        )
    return float(value)


@dataclass(frozen=True)
class PreparedCheck:
    """A check request that passed every validation: what execute_check runs, and what the queue admits."""

    context: CheckContext
    connection: object
    checked: CheckedSQL
    # The stored result when result_id was already recorded: nothing runs then.
    existing: CheckResult | None


def prepare_check(
    organization: Organization,
    *,
    check_id: str,
    connection_id: str | None = None,
    sql: str | None = None,
    run_id: str | None = None,
    pipeline_name: str | None = None,
    dataset_id: str | None = None,
    severity: str | None = None,
    threshold: float | None = None,
    result_id: str | None = None,
) -> PreparedCheck:
    """Every validation of a check execution request, nothing run or written.

    Raises ValidationError (400) for unknown ids or refused SQL.
    """
    context = resolve_context(
        organization,
        check_id=check_id,
        pipeline_name=pipeline_name,
        run_id=run_id,
        dataset_id=dataset_id,
        severity=severity,
        threshold=threshold,
    )
    definition = context.definition
    connection = selectors.find_connection(organization, connection_id or (definition and definition.connection_id))
    connection.organization = organization  # found inside it: its secrets and paths resolve without a query
    sql = sql or (definition.sql if definition else "")
    if not sql:
        raise ValidationError({"sql": ["This field is required (the check defines no SQL)."]})
    try:
        checked = check_read_only(sql, connection.type)
    except UnsafeSQL as exc:
        raise ValidationError({"sql": [str(exc)]}) from None
    return PreparedCheck(
        context=context, connection=connection, checked=checked, existing=_existing_result(organization, result_id)
    )


def connector_or_failure(connection) -> tuple[object | None, WarehouseError | None]:
    """The connection's connector, or the reason it cannot be set up now (recorded as an error result).

    Raises ValidationError (400) when the connection breaks a rule (ConnectionRefused).
    """
    try:
        return connector_for(connection), None
    except ConnectionRefused as exc:
        # A rule broken by a resolved value (a privileged user_secret) may quote it: scrubbed like any message.
        message = scrub(f"Connection {connection.connection_id!r}: {exc}")
        raise ValidationError({"connection_id": [message]}) from None
    except WarehouseUnavailable as exc:
        return None, exc


def execute_check(organization: Organization, *, metered: bool = True, **request) -> ExecutionOutcome:
    """Runs a check's SQL on one of the organization's connections and records the result.

    `request` is prepare_check's keywords (check_id, connection_id, sql, run_id, pipeline_name,
    dataset_id, severity, threshold, result_id). Raises ValidationError (400) for unknown ids, refused
    SQL or a connection that breaks a rule, PlanLimitReached (402) past the monthly quota; nothing runs
    or is recorded then. `metered=False` when the monthly quota was already counted (a queued execution
    counts it when asked for).
    """
    prepared = prepare_check(organization, **request)
    if prepared.existing is not None:
        return ExecutionOutcome(result=prepared.existing, created=False)
    context, connection, checked = prepared.context, prepared.connection, prepared.checked
    check_id, result_id = request["check_id"], request.get("result_id")

    connector, failure = connector_or_failure(connection)
    if metered:
        consume_monthly(organization, "check_executions_per_month")

    started = time.monotonic()
    violations = None
    if failure is None:
        tag = QueryTag(organization=organization.slug, connection_id=connection.connection_id, check_id=check_id)
        try:
            violations = _violations(connector.fetch(checked.sql, max_rows=MAX_ROWS, tag=tag))
        except WarehouseError as exc:
            failure = exc
    duration_ms = round((time.monotonic() - started) * 1000, 3)

    if failure is None:
        status, message = status_for(violations, context.threshold), ""
    else:
        status = CheckStatus.ERROR
        message = scrub(str(failure), connector.secret_values() if connector else [])
        logger.warning(
            "check %s on connection %s of %s: %s error: %s",
            check_id,
            connection.connection_id,
            organization.slug,
            failure.kind,
            message,
        )
    result, created = _save_result(
        organization,
        context,
        check_id=check_id,
        result_id=result_id,
        connection_id=connection.connection_id,
        status=status,
        violations=violations,
        sql=checked.sql,
        duration_ms=duration_ms,
        executed_at=None,
        error_message=message,
        keep_without_purged_run=True,
    )
    return ExecutionOutcome(result=result, created=created, error_kind=failure.kind if failure else None)


def create_check_definitions(*, organization: Organization, pipeline, version, checks: list[dict], datasets: dict):
    """A registered version's checks (pipeline_spec's parsed `checks`); `datasets` maps each declared
    dataset id to its Dataset row. Definitions are kept per version: a new version adds its own."""
    CheckDefinition.objects.bulk_create(
        [
            CheckDefinition(
                organization=organization,
                check_id=check["check_id"],
                pipeline=pipeline,
                pipeline_version=version,
                dataset=datasets[check["dataset_id"]],
                connection_id=check["connection_id"],
                type=check["type"],
                severity=check["severity"],
                sql=check["sql"],
                threshold=check["threshold"],
            )
            for check in checks
        ]
    )


def assertion_result_id(run_id: str, namespace: str, name: str, label: str, column: str) -> str:
    """Deterministic, so a redelivered or repeated assertion updates one result instead of adding one."""
    material = "\x1f".join((run_id, namespace, name, label, column))
    return "ol-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def _upsert_newer(results: list[CheckResult]) -> None:
    """One statement for all of an event's assertion results: insert each, or update the stored one when
    this event is later (`INSERT ... ON CONFLICT DO UPDATE ... WHERE`, PostgreSQL and SQLite alike)."""
    database = connections[router.db_for_write(CheckResult)]
    quote = database.ops.quote_name
    fields = [field for field in CheckResult._meta.concrete_fields if not field.primary_key]
    rows, params = [], []
    for result in sorted(results, key=lambda r: r.result_id):  # one lock order for parallel writers
        rows.append("(" + ", ".join(["%s"] * len(fields)) + ")")
        params.extend(field.get_db_prep_save(field.pre_save(result, add=True), database) for field in fields)
    table = quote(CheckResult._meta.db_table)
    refreshed = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in ("status", "violations", "executed_at"))
    # Only quoted model metadata is interpolated; every value is a query parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join(rows)} "  # noqa: S608
        f"ON CONFLICT ({quote('organization_id')}, {quote('result_id')}) DO UPDATE SET {refreshed} "
        f"WHERE {table}.{quote('executed_at')} < excluded.{quote('executed_at')}"
    )
    with database.cursor() as cursor:
        cursor.execute(sql, params)


def record_assertions(organization, pipeline, run, event, inputs: dict) -> int:
    """dataQualityAssertions input facets -> CheckResult rows on the run (pass/fail per assertion).

    The same assertion reported again for the run (START and COMPLETE both carrying it) keeps
    one result: the one from the latest event.
    """
    wanted: dict[str, CheckResult] = {}
    for item in event["inputs"]:
        dataset = inputs[(item["namespace"], item["name"])]
        for assertion in item.get("assertions", ()):
            column = assertion.get("column") or ""
            label = assertion.get("name") or (
                f"{assertion['assertion']}:{column}" if column else assertion["assertion"]
            )
            result_id = assertion_result_id(event["run"]["runId"], item["namespace"], item["name"], label, column)
            severity = (assertion.get("severity") or "").lower()
            wanted[result_id] = CheckResult(
                organization=organization,
                result_id=result_id,
                check_id=label,
                pipeline=pipeline,
                run=run,
                dataset=dataset,
                status=CheckStatus.PASS if assertion["success"] else CheckStatus.FAIL,
                violations=0 if assertion["success"] else 1,
                severity=severity if severity in Severity.values else Severity.ERROR,
                sql=assertion.get("content") or "",
                executed_at=event["eventTime"],
            )
    if not wanted:
        return 0
    _upsert_newer(list(wanted.values()))
    return len(wanted)


def record_execution_error(
    organization: Organization, request: dict, *, connection_id: str, message: str
) -> CheckResult:
    """An `error` result for an execution that ended without its own (its worker was lost).

    A fresh result id, never the request's: a client that retries with its result_id gets a real run.
    """
    try:
        context = resolve_context(
            organization,
            check_id=request["check_id"],
            pipeline_name=request.get("pipeline_name"),
            run_id=request.get("run_id"),
            dataset_id=request.get("dataset_id"),
            severity=request.get("severity"),
            threshold=request.get("threshold"),
        )
    except ValidationError:  # the run or pipeline was deleted meanwhile: the result stands alone
        context = CheckContext(
            definition=None,
            pipeline=None,
            run=None,
            dataset=None,
            severity=request.get("severity") or Severity.ERROR,
            threshold=float(request.get("threshold") or 0),
        )
    result, _ = _save_result(
        organization,
        context,
        check_id=request["check_id"],
        result_id=None,
        connection_id=connection_id,
        status=CheckStatus.ERROR,
        violations=None,
        sql=request.get("sql") or "",
        duration_ms=None,
        executed_at=None,
        error_message=message,
        keep_without_purged_run=True,
    )
    return result
