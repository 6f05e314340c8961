"""Alert rules, the alerts they raised (one per rule and subject) and every delivery attempt.

Subjects are named by their natural ids (run id, result id, pipeline name and missed slot), not by foreign
keys: retention purges old runs and results, and an alert (what was sent, when, to whom) outlives them.
"""

from django.db import models
from django.utils import timezone

from orgs.models import Organization
from orgs.tenancy import OrganizationScopedManager


class AlertEventType(models.TextChoices):
    RUN_FAILED = "run_failed", "a run failed"
    CHECK_FAILED = "check_failed", "an error- or warn-severity check failed or errored"
    PIPELINE_LATE = "pipeline_late", "a pipeline is late"


class DestinationType(models.TextChoices):
    WEBHOOK = "webhook", "webhook"
    SLACK = "slack", "Slack incoming webhook"
    EMAIL = "email", "e-mail"


class AlertRule(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    destination_type = models.CharField(max_length=10, choices=DestinationType.choices)
    # The webhook or Slack URL, Fernet-encrypted (catalog.secrets): a Slack incoming-webhook URL is a credential,
    # and a webhook URL may carry a token. `url_masked` (scheme://host[:port]/...) is what responses and logs show.
    encrypted_url = models.TextField(blank=True, default="", editable=False)
    url_masked = models.CharField(max_length=300, blank=True, editable=False)
    # E-mail recipients.
    to = models.JSONField(default=list, blank=True)
    # The webhook signing secret, encrypted; shown once, in the response that created it.
    encrypted_signing_secret = models.TextField(blank=True, default="", editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_alert_rule_org_name")]
        indexes = [models.Index(fields=["enabled", "organization"], name="alertrule_enabled_org")]

    def __str__(self):
        return self.name


class AlertState(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed (attempts exhausted)"


class Alert(models.Model):
    """One alert per rule and subject: `dedup_key` (`run:<run_id>`, `result:<result_id>`, `late:<pipeline>@<slot>`)
    is unique per rule, so a failure seen twice (a duplicate event, two detection passes) is sent once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    event = models.CharField(max_length=20, choices=AlertEventType.choices)
    dedup_key = models.CharField(max_length=500)
    pipeline_name = models.CharField(max_length=200, blank=True)
    run_id = models.CharField(max_length=250, blank=True)
    result_id = models.CharField(max_length=200, blank=True)
    check_id = models.CharField(max_length=200, blank=True)
    late_slot = models.DateTimeField(null=True, blank=True)
    # What happened, as sent (built at detection: the run or result may be purged before the last attempt).
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then, so two workers never send the same alert at once.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When a message for its next attempt was last sent to the workers; the sweep sends another only when that
    # one looks lost (the broker lost it, or the worker died before acknowledging).
    dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When its delivery ended (delivered, or failed with its attempts exhausted); null while pending. Retention
    # ages an alert by it: an old alert delivered only today (a rule enabled again, sent again) is kept a window.
    settled_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "dedup_key"], name="uniq_alert_rule_subject")]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="alert_due"),
            models.Index(fields=["rule", "-created_at", "-id"], name="alert_rule_history"),
            models.Index(fields=["organization", "settled_at"], name="alert_org_retention"),
        ]

    def __str__(self):
        return f"{self.event} {self.dedup_key} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try at sending an alert: never the secret, the URL or more than a short excerpt of the answer."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["alert", "number"]
        constraints = [models.UniqueConstraint(fields=["alert", "number"], name="uniq_delivery_attempt_number")]

    def __str__(self):
        outcome = "ok" if self.succeeded else (self.status_code or self.error[:40])
        return f"attempt {self.number}: {outcome}"


class DetectionWatermark(models.Model):
    """Where the detection pass stopped reading runs and check results (one row, the platform's, not a tenant's)."""

    name = models.CharField(max_length=50, unique=True)
    scanned_until = models.DateTimeField()

    def __str__(self):
        return f"{self.name}: {self.scanned_until:%Y-%m-%d %H:%M:%S}"
