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
        ]

    def __str__(self):
        return f"{self.check_id}: {self.status}"


class FailedCheckResult(CheckResult):
    """The results an operator opens during an incident (status fail or error), as its own admin page."""

    class Meta:
        proxy = True
        verbose_name = "failed check"
        verbose_name_plural = "failed checks"
