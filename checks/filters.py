"""Query parameters of GET /api/v1/checks/results."""

import django_filters

from checks.models import CheckResult, CheckStatus, Severity


class CheckResultFilterSet(django_filters.FilterSet):
    pipeline = django_filters.CharFilter(field_name="pipeline__name", help_text="Pipeline name, e.g. orders_sync.")
    status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    check = django_filters.CharFilter(field_name="check_id", help_text="Check id, e.g. chk_freshness.")
    run = django_filters.CharFilter(field_name="run__run_id", help_text="Run id.")
    dataset = django_filters.CharFilter(field_name="dataset__dataset_id", help_text="Dataset id.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    executed_after = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    executed_before = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = CheckResult
        fields = ["pipeline", "status", "check", "run", "dataset", "severity", "executed_after", "executed_before"]
