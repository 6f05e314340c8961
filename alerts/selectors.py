from django.db.models import Prefetch, QuerySet

from alerts.models import Alert, DeliveryAttempt


def recent_alerts(rule) -> QuerySet[Alert]:
    """A rule's alerts, newest first, each with its delivery attempts (two queries a page)."""
    return rule.alerts.prefetch_related(
        Prefetch(
            "delivery_attempts",
            queryset=DeliveryAttempt.objects.for_organization(rule.organization_id).order_by("number"),
        )
    )
