from django.conf import settings
from django.core.validators import validate_slug
from django.db import models
from django.utils import timezone

from orgs.tenancy import OrganizationScopedManager


class Role(models.TextChoices):
    READ = "read", "read"
    WRITE = "write", "write"
    ADMIN = "admin", "admin"


ROLE_RANK = {Role.READ: 1, Role.WRITE: 2, Role.ADMIN: 3}


def role_allows(granted: str, required: str) -> bool:
    return ROLE_RANK[Role(granted)] >= ROLE_RANK[Role(required)]


class Plan(models.TextChoices):
    FREE = "free", "free"
    TEAM = "team", "team"
    ENTERPRISE = "enterprise", "enterprise"


class Organization(models.Model):
    slug = models.SlugField(max_length=63, unique=True, validators=[validate_slug])
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    is_active = models.BooleanField(default=True, help_text="An inactive organization's keys get 401.")
    billing_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def email(self) -> str:
        # dj-stripe's subscriber model must expose an e-mail for the Stripe customer.
        return self.billing_email


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.READ)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership_user_org")]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class OIDCIdentity(models.Model):
    """The (issuer, subject) pair an identity provider vouches for, linked to one user.

    Bearer tokens find their user only through this link, never by e-mail: an e-mail is a claim the
    provider may let anyone set, the subject is the provider's stable, unique id of the account.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255, help_text="OIDC_OP_ISSUER (or the userinfo URL when it is unset).")
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim for this account.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "OIDC identity"
        verbose_name_plural = "OIDC identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="uniq_oidc_identity")]

    def __str__(self):
        return f"{self.subject} at {self.issuer} -> {self.user}"


class ApiKey(models.Model):
    """An organization's API key. Only the public prefix and an HMAC digest of the secret are kept."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.WRITE)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.masked} ({self.name})"

    @property
    def masked(self) -> str:
        return f"dxp_{self.prefix}..."

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class UsageCounter(models.Model):
    """Monthly usage of a metered metric (runs, check executions, OpenLineage events).

    Kept as a counter so that enforcing a monthly limit never scans the history tables.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_counters")
    metric = models.CharField(max_length=50)
    period = models.DateField(help_text="First day of the month counted.")
    value = models.PositiveBigIntegerField(default=0)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "metric", "period"], name="uniq_usage_counter")]

    def __str__(self):
        return f"{self.organization} {self.metric} {self.period:%Y-%m}: {self.value}"
