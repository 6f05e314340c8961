"""Pipelines (versioned registrations), runs and warehouse connections.

Natural keys (pipeline name, run id, connection id) are unique per organization, not globally.
"""

from django.db import models
from django.utils import timezone

from orgs.models import Organization
from orgs.tenancy import OrganizationScopedManager


class LateReason(models.TextChoices):
    MISSED_SLOT = "missed_slot", "no run started for a scheduled slot"
    OVERRUN = "overrun", "a run is running far past its usual duration"


class Pipeline(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=200)
    current_version = models.ForeignKey(
        "PipelineVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    schedule = models.CharField(max_length=100, blank=True)
    # The IANA zone the cron schedule is read in (pipeline.json `timezone`); validated at registration.
    schedule_timezone = models.CharField(max_length=64, default="UTC")
    tags = models.JSONField(default=list, blank=True)
    # Created from an OpenLineage job with no registered pipeline of that name; not plan-counted.
    is_external = models.BooleanField(default=False)
    # Lateness (issue 16): a paused pipeline expects no runs; a scheduled slot with no run started within the
    # grace period, or a run far past its usual duration, makes it late until a run arrives. The late alert is
    # deduplicated on (pipeline, late_slot): one alert per missed slot.
    paused = models.BooleanField(default=False)
    late_grace_minutes = models.PositiveIntegerField(default=15)
    late_reason = models.CharField(max_length=20, choices=LateReason.choices, blank=True)
    # The missed slot, or the start of the overrunning run; null while on time.
    late_slot = models.DateTimeField(null=True, blank=True)
    late_detected_at = models.DateTimeField(null=True, blank=True)
    # Slots before this moment are never expected: set when the pipeline is created, when its schedule or time
    # zone changes, and when it is unpaused (catalog.lateness). Null on rows older than it: created_at then.
    expected_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_pipeline_org_name")]

    def __str__(self):
        return self.name


class PipelineVersion(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=50)
    spec = models.JSONField()
    # SHA-256 of the canonical JSON of `spec`: same version, same hash means an idempotent re-post.
    spec_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "version"], name="uniq_pipeline_version")]

    def __str__(self):
        return f"{self.pipeline.name}@{self.version}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCESS = "success", "success"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


TERMINAL_RUN_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED})


class Run(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runs")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    pipeline_version = models.ForeignKey(
        PipelineVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    run_id = models.CharField(max_length=250)
    # The run this one is a step of: an Airflow task instance's run under its DAG run (OpenLineage's
    # `parent` run facet). The DAG run lists its task runs.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="task_runs")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "run_id"], name="uniq_run_org_run_id")]
        indexes = [
            models.Index(fields=["pipeline", "-created_at", "-id"], name="run_pipeline_history"),
            models.Index(fields=["organization", "-created_at", "-id"], name="run_org_history"),
            models.Index(fields=["organization", "status"], name="run_org_status"),
            # Status-filtered history of one pipeline ("its failed runs, newest first") stays an index walk.
            models.Index(fields=["pipeline", "status", "-created_at", "-id"], name="run_pipeline_status_history"),
            # Retention (workflows/retention.py): an organization's runs by the last change recorded, oldest first.
            models.Index(fields=["organization", "updated_at"], name="run_org_retention"),
        ]

    def __str__(self):
        return self.run_id


class ConnectionType(models.TextChoices):
    POSTGRES = "postgres", "postgres"
    BIGQUERY = "bigquery", "bigquery"
    SNOWFLAKE = "snowflake", "snowflake"
    SQLITE = "sqlite", "sqlite"


class Connection(models.Model):
    """A warehouse connection. `config` never holds a secret value: `*_secret` keys hold references."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="connections")
    connection_id = models.SlugField(max_length=100)
    type = models.CharField(max_length=20, choices=ConnectionType.choices)
    config = models.JSONField(default=dict)
    # A password found in a postgres DSN, Fernet-encrypted with a key derived from SECRET_KEY
    # (catalog.secrets). Never serialized; restored into the DSN only by resolve_connection_config.
    encrypted_dsn_password = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["connection_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "connection_id"], name="uniq_connection_org_id")]

    def __str__(self):
        return f"{self.connection_id} ({self.type})"
