"""Operator views: datasets with their lineage, edges by pipeline, stored OpenLineage events by run.

All read-only (lineage is written by pipeline registration and OpenLineage ingestion) and
organization-scoped (orgs.admin_scoping).
"""

import json
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from config.pagination import CappedCountPaginator
from console import lineage_view
from console.display import admin_link, badge, table
from console.filters import OrganizationFilter
from console.scoping import ScopedAdmin
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


class ReadOnlyScopedAdmin(ScopedAdmin):
    """Lineage is what pipelines declared and producers reported: read here, written by the services."""

    show_facets = admin.ShowFacets.NEVER  # edge and event tables are large: no count per filter choice

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyScopedAdmin):
    list_display = ["dataset_id", "namespace", "organization", "connection_id", "table", "upstream", "downstream"]
    list_filter = [OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["dataset_id", "namespace", "table"]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["organization", "dataset_id", "namespace", "connection_id", "table", "created_at"]}),
        (f"Lineage ({lineage_view.DEPTH} hops each way)", {"fields": ["upstream_tree", "downstream_tree"]}),
        ("Impact of a change to this dataset", {"fields": ["impacted_checks", "impacted_pipelines"]}),
    ]
    readonly_fields = [
        "organization",
        "dataset_id",
        "namespace",
        "connection_id",
        "table",
        "created_at",
        "upstream_tree",
        "downstream_tree",
        "impacted_checks",
        "impacted_pipelines",
    ]

    def get_queryset(self, request):
        # One correlated count per direction: joining both edge sets would multiply the rows.
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(upstream_edges=_edge_count("target"), downstream_edges=_edge_count("source"))
        )

    def _lineage(self, obj):
        # The four lineage fields share one walk of the graph.
        if not hasattr(obj, "_console_lineage"):
            obj._console_lineage = lineage_view.dataset_lineage(obj)
        return obj._console_lineage

    @admin.display(description="upstream edges", ordering="upstream_edges")
    def upstream(self, obj):
        return obj.upstream_edges

    @admin.display(description="downstream edges", ordering="downstream_edges")
    def downstream(self, obj):
        return obj.downstream_edges

    @admin.display(description="upstream (what feeds it)")
    def upstream_tree(self, obj):
        return lineage_view.render_tree(self._lineage(obj)["upstream"], "upstream")

    @admin.display(description="downstream (what reads it)")
    def downstream_tree(self, obj):
        return lineage_view.render_tree(self._lineage(obj)["downstream"], "downstream")

    @admin.display(description="checks on it and downstream")
    def impacted_checks(self, obj):
        checks = self._lineage(obj)["impact"]["checks"]
        return table(
            ["check", "severity", "dataset", "pipeline"],
            [
                [check["check_id"], badge(check["severity"]), check["dataset_id"], check["pipeline"] or "-"]
                for check in checks
            ],
            empty="No check would be affected.",
        )

    @admin.display(description="pipelines reading it or downstream")
    def impacted_pipelines(self, obj):
        return ", ".join(self._lineage(obj)["impact"]["pipelines"]) or "-"


@admin.register(LineageEdge)
class LineageEdgeAdmin(ReadOnlyScopedAdmin):
    list_display = ["source_link", "target_link", "pipeline", "pipeline_version", "organization", "created_at"]
    list_filter = [PipelineNameFilter, OrganizationFilter]
    list_select_related = ["source", "target", "pipeline", "pipeline_version__pipeline", "organization"]
    paginator = CappedCountPaginator
    search_fields = ["source__dataset_id", "target__dataset_id", "pipeline__name"]
    readonly_fields = ["organization", "source", "target", "pipeline", "pipeline_version", "created_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization", "source", "target", "pipeline", "pipeline_version__pipeline")
            .defer("pipeline_version__spec", "pipeline__description", "pipeline__tags")
        )

    @admin.display(description="source", ordering="source__dataset_id")
    def source_link(self, obj):
        return admin_link("lineage_dataset_change", obj.source_id, obj.source)

    @admin.display(description="target", ordering="target__dataset_id")
    def target_link(self, obj):
        return admin_link("lineage_dataset_change", obj.target_id, obj.target)


@admin.register(OpenLineageEvent)
class OpenLineageEventAdmin(ReadOnlyScopedAdmin):
    """Read-only: stored events are the audit record of what producers sent."""

    # No actions, so no checkbox column: `o=1` (the run link's ordering) is event_time, ascending.
    list_display = ["job_name", "event_time", "event_type", "run_link", "job_namespace", "organization", "received_at"]
    list_filter = ["event_type", OrganizationFilter]
    list_select_related = ["organization"]
    paginator = CappedCountPaginator
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
