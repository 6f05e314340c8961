import django_filters
from django.db import connection

from catalog.models import Pipeline, Run, RunStatus


class PipelineFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter(field_name="owner", lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag", label="Pipelines carrying this tag")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Pipeline
        fields = ["owner", "tag", "search", "name"]

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
