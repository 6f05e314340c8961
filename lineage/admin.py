"""Operator views: datasets with their edge counts, edges by pipeline, stored OpenLineage events by run."""

import json
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from lineage.models import Dataset, LineageEdge, OpenLineageEvent


class TextInputFilter(admin.SimpleListFilter):
    """A free-text filter: with many pipelines a list of links would be unusable."""

    template = "admin/lineage/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True

    def choices(self, changelist):
        keep = [(name, value) for name, value in changelist.params.items() if name != self.parameter_name]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "keep": keep,
        }


class PipelineNameFilter(TextInputFilter):
    title = "pipeline name"
    parameter_name = "pipeline_name"
    placeholder = "exact pipeline name"

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(pipeline__name=self.value())
        return queryset


def _edge_count(column: str):
    counted = (
        LineageEdge.objects.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["dataset_id", "namespace", "organization", "connection_id", "table", "upstream", "downstream"]
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["dataset_id", "namespace", "table"]
    readonly_fields = ["created_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        # One correlated count per direction: joining both edge sets would multiply the rows.
        return (
            super()
            .get_queryset(request)
            .annotate(upstream_edges=_edge_count("target"), downstream_edges=_edge_count("source"))
        )

    @admin.display(description="upstream edges", ordering="upstream_edges")
    def upstream(self, obj):
        return obj.upstream_edges

    @admin.display(description="downstream edges", ordering="downstream_edges")
    def downstream(self, obj):
        return obj.downstream_edges


@admin.register(LineageEdge)
class LineageEdgeAdmin(admin.ModelAdmin):
    list_display = ["source", "target", "pipeline", "pipeline_version", "organization", "created_at"]
    list_filter = [PipelineNameFilter, "organization"]
    list_select_related = ["source", "target", "pipeline", "pipeline_version__pipeline", "organization"]
    search_fields = ["source__dataset_id", "target__dataset_id", "pipeline__name"]
    raw_id_fields = ["source", "target", "pipeline", "pipeline_version"]
    readonly_fields = ["created_at"]
    show_full_result_count = False


@admin.register(OpenLineageEvent)
class OpenLineageEventAdmin(admin.ModelAdmin):
    """Read-only: stored events are the audit record of what producers sent."""

    list_display = ["event_time", "event_type", "run_link", "job_name", "job_namespace", "organization", "received_at"]
    list_filter = ["event_type", "organization"]
    list_select_related = ["organization"]
    search_fields = ["=run_id", "job_name"]
    ordering = ["-received_at", "-id"]
    show_full_result_count = False
    fields = [
        "organization",
        "run_id",
        "event_type",
        "event_time",
        "job_namespace",
        "job_name",
        "producer",
        "received_at",
        "pretty_payload",
    ]
    readonly_fields = fields

    @admin.display(description="run", ordering="run_id")
    def run_link(self, obj):
        # Every event of the same run, in event-time order.
        return format_html('<a href="?{}">{}</a>', urlencode({"run_id": obj.run_id, "o": "1"}), obj.run_id)

    @admin.display(description="payload")
    def pretty_payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
