"""An organization's usage of its plan: the counted rows of every app, for /organizations/me and the admin.

orgs.limits counts what it is given; the apps that own the rows say which rows count.
"""

from catalog import selectors as catalog_selectors
from orgs import limits
from orgs.models import Organization
from orgs.selectors import live_api_keys


def counted_rows(organization: Organization) -> dict:
    """Each counted metric of orgs.limits.COUNTED_METRICS -> the organization's live rows of it."""
    return {
        "pipelines": catalog_selectors.counted_pipelines(organization),
        "api_keys": live_api_keys(organization),
        "connections": catalog_selectors.counted_connections(organization),
    }


def organization_usage(organization: Organization) -> dict[str, int]:
    return limits.current_usage(organization, counted_rows(organization))
