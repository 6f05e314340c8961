"""Operator views of check results: every result, failed first; a "Failed checks" page for incidents;
and `CheckResultInline` for the run page (imported by the catalog's run admin).

Result tables grow without bound: no full count, a bounded count for paging, related rows joined.
Staff see every organization; other admin users only their organizations' results (orgs.admin_scoping).
"""

from django.contrib import admin
from django.db.models import Case, IntegerField, Value, When
from django.utils.html import format_html

from checks.models import CheckResult, CheckStatus, FailedCheckResult
from config.pagination import CappedCountPaginator
from console.display import badge, error_cell, first_line, number, run_cell, severity_badge, since
from console.filters import DatasetFilter, OrganizationFilter, PipelineFilter
from console.scoping import ScopedAdmin, ScopedInlineMixin

_STATUS_RANK = Case(
    When(status=CheckStatus.FAIL, then=Value(0)),
    When(status=CheckStatus.ERROR, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


class _ResultColumns:
    """The result columns shared by the result pages and the run page's inline."""

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj):
        return severity_badge(obj.severity)

    @admin.display(description="error (first line)")
    def error_line(self, obj):
        return error_cell(obj.error_message)

    @admin.display(description="when", ordering="executed_at")
    def executed(self, obj):
        return since(obj.executed_at)

    @admin.display(description="violations / threshold")
    def violations_vs_threshold(self, obj):
        return violations_vs_threshold(obj)

    @admin.display(description="SQL")
    def sql_text(self, obj):
        return format_html('<pre class="check-sql">{}</pre>', obj.sql) if obj.sql else "-"


class _ResultAdminBase(_ResultColumns, ScopedAdmin):
    # Read at 1366 px without scrolling sideways (tests/console/test_incident_browser.py measures it):
    # short cells, the run id shortened, the error's first line cut by CSS, full texts on hover.
    list_display = [
        "executed",
        "run_link",
        "pipeline_name",
        "check_id",
        "status_badge",
        "severity_badge",
        "error_line",
        "violations_vs_threshold",
        "organization",
    ]
    list_display_links = ["check_id"]
    list_filter = ["status", "severity", PipelineFilter, DatasetFilter, OrganizationFilter, "executed_at"]
    list_select_related = ["organization", "pipeline", "run", "dataset"]
    # Exact matches on indexed keys: a LIKE over an unbounded history would scan it.
    search_fields = ["=check_id", "=result_id", "=run__run_id"]
    search_help_text = "Exact check id, result id or run id."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count the whole history per filter choice
    paginator = CappedCountPaginator
    list_per_page = 100
    fields = [
        "check_id",
        "status_badge",
        "severity_badge",
        "violations_vs_threshold",
        "organization",
        "pipeline",
        "run",
        "dataset",
        "connection_id",
        "sql_text",
        "error_message",
        "duration_ms",
        "executed_at",
        "result_id",
        "check_definition",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # results come from checks, through the API

    def has_change_permission(self, request, obj=None):
        return False  # a result is history; it is viewed, not edited

    def has_delete_permission(self, request, obj=None):
        return False  # nor deleted, one by one or by the bulk action (docs/console.md)

    def get_queryset(self, request):
        # Rows name the run and pipeline; their JSON attributes and descriptions are never shown.
        return (
            super()
            .get_queryset(request)
            .select_related("organization", "pipeline", "run", "dataset", "check_definition")
            .defer("run__attributes", "pipeline__description", "pipeline__tags", "check_definition__sql")
        )

    @admin.display(description="pipeline", ordering="pipeline__name")
    def pipeline_name(self, obj):
        return obj.pipeline.name if obj.pipeline_id else "-"

    @admin.display(description="run", ordering="run__run_id")
    def run_link(self, obj):
        if not obj.run_id:
            return "-"
        return run_cell(obj.run_id, obj.run.run_id, obj.pipeline.name if obj.pipeline_id else "")


@admin.register(CheckResult)
class CheckResultAdmin(_ResultAdminBase):
    """Every result, failed first (fail, then error, then pass), newest first within each."""

    ordering = [_STATUS_RANK.asc(), "-executed_at", "-id"]


@admin.register(FailedCheckResult)
class FailedCheckResultAdmin(_ResultAdminBase):
    """What the on-call opens during an incident: failed and errored checks, newest first."""

    list_filter = ["severity", "status", PipelineFilter, DatasetFilter, OrganizationFilter, "executed_at"]
    ordering = ["-executed_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status__in=[CheckStatus.FAIL, CheckStatus.ERROR])


def violations_vs_threshold(result):
    """`12 > 0` for a failed check: what was found against what is allowed."""
    if result.status == CheckStatus.ERROR or result.violations is None:
        return "-"
    sign = ">" if result.status == CheckStatus.FAIL else "≤"
    return format_html(
        '<span class="violations">{} {} {}</span>', number(result.violations), sign, number(result.threshold)
    )


class CheckResultInline(_ResultColumns, ScopedInlineMixin, admin.TabularInline):
    """A run's check results on its admin page, failed first. Use: `inlines = [CheckResultInline]` on RunAdmin."""

    model = CheckResult
    fk_name = "run"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "check results (failed first)"
    fields = [
        "check_id",
        "status_badge",
        "severity_badge",
        "violations_vs_threshold",
        "sql_text",
        "error",
        "executed",
    ]
    readonly_fields = fields
    classes = ["check-results"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by(_STATUS_RANK.asc(), "-executed_at")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def error(self, obj):
        """The first line, then the rest folded: a long driver message must not widen the run page."""
        if not obj.error_message:
            return "-"
        line = first_line(obj.error_message)
        if line == obj.error_message.strip():
            return format_html('<span class="check-error">{}</span>', line)
        return format_html(
            '<details class="check-error"><summary>{}</summary><pre>{}</pre></details>', line, obj.error_message
        )
