"""Reads of orgs that more than one caller needs."""

from django.db.models import QuerySet

from orgs.models import ApiKey, Organization


def live_api_keys(organization: Organization) -> QuerySet[ApiKey]:
    """The keys that count towards the plan's `api_keys` limit: every key not revoked (an expired one too)."""
    return ApiKey.objects.for_organization(organization).filter(revoked_at__isnull=True)
