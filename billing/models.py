"""Billing state kept beside dj-stripe's own tables.

The organization <-> Stripe customer mapping is dj-stripe's `Customer.subscriber`; subscriptions
reach their organization through their customer. What lives here is what dj-stripe has no place
for: whether staff took the plan out of Stripe's hands, and the history of plan changes.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from orgs.models import Organization, Plan
from orgs.tenancy import OrganizationScopedManager


class PlanSource(models.TextChoices):
    DEFAULT = "default", "default (no subscription)"
    STRIPE = "stripe", "Stripe subscription"
    STAFF = "staff", "set by staff"


class OrganizationBilling(models.Model):
    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="billing")
    plan_source = models.CharField(
        max_length=10,
        choices=PlanSource.choices,
        default=PlanSource.DEFAULT,
        help_text="'set by staff' freezes the plan: Stripe events no longer change it (enterprise contracts).",
    )
    subscription_id = models.CharField(
        max_length=255, blank=True, help_text="Stripe id of the subscription that decides the plan."
    )
    subscription_status = models.CharField(max_length=30, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedManager()

    class Meta:
        verbose_name = "organization billing state"

    def __str__(self):
        return f"{self.organization}: {self.get_plan_source_display()}"


class PlanChange(models.Model):
    """One row per actual change of an organization's plan, whoever made it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="plan_changes")
    from_plan = models.CharField(max_length=20, choices=Plan.choices)
    to_plan = models.CharField(max_length=20, choices=Plan.choices)
    source = models.CharField(max_length=10, choices=PlanSource.choices)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    subscription_status = models.CharField(max_length=30, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="billing_planchange_org_time")]

    def __str__(self):
        return f"{self.organization}: {self.from_plan} -> {self.to_plan} ({self.source})"
