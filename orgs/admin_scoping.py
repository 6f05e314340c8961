"""The admin's tenancy rule: staff see every organization, an organization's own users only theirs.

Superusers (the DataXPipe staff) see all rows. Any other user allowed into the admin sees the rows
of the organizations they are a member of. Every admin page, list filter and console selector
applies the rule through `restrict`; console.scoping.ScopedAdmin is the ModelAdmin base built on it.
"""

from orgs.models import Organization
from orgs.tenancy import OrganizationScopedQuerySet


def visible_organizations(user):
    """None means every organization; otherwise a queryset of the user's active organizations (a deactivated
    organization's rows leave its users' console at once, as its API keys and OIDC logins stop working)."""
    if user.is_superuser:
        return None
    return Organization.objects.filter(memberships__user=user, is_active=True)


def restrict(queryset, scope, field="organization"):
    """`queryset` limited to the organizations of `scope` (a visible_organizations() answer).

    An organization-owned model's queryset decides its scope here (orgs.tenancy); `field` is for
    other querysets (the organizations themselves: `field="pk"`).
    """
    if isinstance(queryset, OrganizationScopedQuerySet):
        # Staff (scope None) see every organization: the one deliberate unscoped read of the admin.
        return queryset.unscoped() if scope is None else queryset.for_organizations(scope)
    return queryset if scope is None else queryset.filter(**{f"{field}__in": scope})
