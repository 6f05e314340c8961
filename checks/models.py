"""Check definitions (from registered pipelines, or ad hoc) and their results."""

from django.db import models
from django.utils import timezone

from orgs.models import Organization
from orgs.tenancy import OrganizationScopedManager


class Severity(models.TextChoices):
    ERROR = "error", "error"
    WARN = "warn", "warn"
    INFO = "info", "info"


class CheckDefinition(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="check_definitions")
    check_id = models.CharField(max_length=200)
    # Null for an ad-hoc check (a result posted or executed for a check no pipeline defines).
    pipeline = models.ForeignKey(
        "catalog.Pipeline", null=True, blank=True, on_delete=models.CASCADE, related_name="check_definitions"
    )
    pipeline_version = models.ForeignKey(
        "catalog.PipelineVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="check_definitions"
    )
    dataset = models.ForeignKey(
        "lineage.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="check_definitions"
    )
    connection_id = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=50, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    sql = models.TextField(blank=True)
    threshold = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["check_id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline_version", "check_id"], name="uniq_check_definition_per_version")
        ]
        indexes = [models.Index(fields=["organization", "check_id"], name="checkdef_org_check_id")]

    def __str__(self):
        return self.check_id


class CheckStatus(models.TextChoices):
    PASS = "pass", "pass"
    FAIL = "fail", "fail"
    ERROR = "error", "error"


class CheckResult(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="check_results")
    # Client-supplied id that makes re-posting the same result idempotent; generated when absent.
    result_id = models.CharField(max_length=200)
    check_id = models.CharField(max_length=200)
    check_definition = models.ForeignKey(
        CheckDefinition, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    pipeline = models.ForeignKey(
        "catalog.Pipeline", null=True, blank=True, on_delete=models.SET_NULL, related_name="check_results"
    )
    run = models.ForeignKey(
        "catalog.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="check_results"
    )
    dataset = models.ForeignKey(
        "lineage.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="check_results"
    )
    connection_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=CheckStatus.choices)
    violations = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(default=0)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    sql = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    executed_at = models.DateTimeField(default=timezone.now)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-executed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "result_id"], name="uniq_check_result_org_result_id")
        ]
        indexes = [
            models.Index(fields=["organization", "-executed_at", "-id"], name="checkresult_org_history"),
            models.Index(fields=["organization", "status", "-executed_at"], name="checkresult_org_status"),
            models.Index(fields=["run", "-executed_at"], name="checkresult_run"),
            # Retention (workflows/retention.py): an organization's results by when they were recorded.
            models.Index(fields=["organization", "created_at"], name="checkresult_org_retention"),
        ]

    def __str__(self):
        return f"{self.check_id}: {self.status}"


class FailedCheckResult(CheckResult):
    """The results an operator opens during an incident (status fail or error), as its own admin page."""

    class Meta:
        proxy = True
        verbose_name = "failed check"
        verbose_name_plural = "failed checks"


class ExecutionState(models.TextChoices):
    # Waiting in the database for one of its organization's execution slots (never sent to the broker yet).
    QUEUED = "queued", "queued"
    # Holds a slot and was sent to a worker (the broker or the in-process pool), not picked up yet.
    DISPATCHED = "dispatched", "dispatched"
    RUNNING = "running", "running"
    DONE = "done", "done"
    ERROR = "error", "error"


# The states that hold one of the organization's execution slots.
SLOT_STATES = (ExecutionState.DISPATCHED, ExecutionState.RUNNING)
ACTIVE_STATES = (ExecutionState.QUEUED, *SLOT_STATES)


class CheckExecution(models.Model):
    """One asked-for check execution, from POST /checks/execute until its result is recorded.

    `request` holds the validated body (ids, SQL, threshold) and never a secret: connection secrets are
    resolved by the worker at execution. The broker message carries only `execution_id`.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="check_executions")
    execution_id = models.CharField(max_length=40, unique=True)
    check_id = models.CharField(max_length=200)
    connection_id = models.CharField(max_length=100, blank=True)
    request = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=ExecutionState.choices, default=ExecutionState.QUEUED)
    result = models.ForeignKey(CheckResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions")
    # "unavailable", "timeout", "query" when the warehouse failed (502 for "unavailable", as before).
    error_kind = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    # The connection's statement timeout when the request was admitted: the running lease is this plus a margin.
    timeout_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Past it, a dispatched execution is sent again and a running one is recorded as an error (worker lost).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # finished_at - created_at, kept for the latency histogram in /metrics.
    latency_ms = models.FloatField(null=True, blank=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "state", "created_at"], name="checkexec_org_state"),
            models.Index(fields=["state", "lease_expires_at"], name="checkexec_state_lease"),
            # Retention (workflows/retention.py): an organization's finished executions, oldest first.
            models.Index(fields=["organization", "finished_at"], name="checkexec_org_retention"),
        ]

    def __str__(self):
        return f"{self.execution_id}: {self.check_id} ({self.state})"


# Seconds from asking for an execution to its end: a quick check through the queue up to a 300 s timeout.
# ExecutionLatencyBucket rows are numbered by position here: changing these needs their rows renumbered.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
FINISHED_STATES = (ExecutionState.DONE, ExecutionState.ERROR)


def latency_bucket(latency_ms: float) -> int:
    """The position of the first bucket that holds this latency; len(LATENCY_BUCKETS) beyond the last."""
    return next((n for n, bound in enumerate(LATENCY_BUCKETS) if latency_ms <= bound * 1000), len(LATENCY_BUCKETS))


class ExecutionLatencyBucket(models.Model):
    """Finished check executions of every organization, by end state and latency bucket, counted as they
    finish: /metrics reads these few rows instead of scanning the executions. Names no organization."""

    state = models.CharField(max_length=12, choices=ExecutionState.choices)
    # Position in LATENCY_BUCKETS (len(LATENCY_BUCKETS): beyond the last bound).
    bucket = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)
    sum_ms = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["state", "bucket"], name="uniq_execution_latency_bucket")]

    def __str__(self):
        return f"{self.state} bucket {self.bucket}: {self.count}"
