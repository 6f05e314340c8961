import django_filters
from django.db import connection

from catalog.models import Pipeline, Run, RunStatus

PIPELINE_STATES = [
    ("late", "late: a scheduled slot was missed or a run overruns (catalog.lateness)"),
    ("on_time", "not late and not paused"),
    ("paused", "paused: expects no run"),
]


def in_state(queryset, state):
    """The pipelines of `queryset` in one of PIPELINE_STATES (the API's `?state=` and the console's filter)."""
    if state == "late":
        return queryset.filter(late_slot__isnull=False)
    if state == "paused":
        return queryset.filter(paused=True)
    if state == "on_time":
        return queryset.filter(late_slot__isnull=True, paused=False)
    return queryset


class PipelineFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=PIPELINE_STATES, method="filter_state", label="Lateness state")
    owner = django_filters.CharFilter(field_name="owner", lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag", label="Pipelines carrying this tag")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Pipeline
        fields = ["state", "owner", "tag", "search", "name"]

    def filter_state(self, queryset, name, value):
        return in_state(queryset, value)

    def filter_tag(self, queryset, name, value):
        if connection.vendor == "postgresql":
            return queryset.filter(tags__contains=[value])
        # SQLite has no JSON containment: match the quoted element in the stored JSON text.
        return queryset.filter(tags__icontains=f'"{value}"')


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Run
        fields = ["status", "started_after", "started_before"]
