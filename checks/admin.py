"""Operator views of check results: every result, failed first; a "Failed checks" page for incidents;
and `CheckResultInline` for the run page (imported by the catalog's run admin).

Result tables grow without bound: no full count, a bounded count for paging, related rows joined.
Staff see every organization; other admin users only their organizations' results (orgs.admin_scoping).
"""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from catalog.models import Pipeline
from checks.models import CheckResult, CheckStatus, FailedCheckResult
from orgs.admin_scoping import OrganizationScopedAdmin

COUNT_LIMIT = 10_000

_STATUS_RANK = Case(
    When(status=CheckStatus.FAIL, then=Value(0)),
    When(status=CheckStatus.ERROR, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
_STATUS_COLOURS = {CheckStatus.FAIL: "#ba2121", CheckStatus.ERROR: "#b35c00", CheckStatus.PASS: "#2e7d32"}


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT rows, so a page of a huge table never scans it all."""

    @cached_property
    def count(self):
        return self.object_list[: COUNT_LIMIT + 1].count()


class PipelineFilter(admin.SimpleListFilter):
    title = "pipeline"
    parameter_name = "pipeline"

    def lookups(self, request, model_admin):
        names = Pipeline.objects.order_by("name").values_list("name", flat=True).distinct()[:200]
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(pipeline__name=self.value()) if self.value() else queryset


class _ResultAdminBase(OrganizationScopedAdmin):
    list_display = [
        "executed_at",
        "check_id",
        "status_badge",
        "severity",
        "pipeline_name",
        "run_link",
        "violations",
        "threshold",
        "connection_id",
        "organization",
    ]
    list_display_links = ["executed_at", "check_id"]
    list_filter = ["status", "severity", PipelineFilter, "executed_at"]
    list_select_related = ["organization", "pipeline", "run", "dataset"]
    search_fields = ["check_id", "result_id", "run__run_id", "pipeline__name", "organization__slug"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    list_per_page = 100
    readonly_fields = [
        "organization",
        "result_id",
        "check_id",
        "check_definition",
        "pipeline",
        "run",
        "dataset",
        "connection_id",
        "status",
        "violations",
        "threshold",
        "severity",
        "sql",
        "duration_ms",
        "executed_at",
        "error_message",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False  # results come from checks, through the API

    def has_change_permission(self, request, obj=None):
        return False  # a result is history; it is viewed, not edited

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = _STATUS_COLOURS.get(obj.status, "#444")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.status.upper())

    @admin.display(description="pipeline", ordering="pipeline__name")
    def pipeline_name(self, obj):
        return obj.pipeline.name if obj.pipeline_id else "-"

    @admin.display(description="run", ordering="run__run_id")
    def run_link(self, obj):
        if not obj.run_id:
            return "-"
        try:
            url = reverse("admin:catalog_run_change", args=[obj.run_id])
        except NoReverseMatch:
            return obj.run.run_id  # the run admin is not registered
        return format_html('<a href="{}">{}</a>', url, obj.run.run_id)


@admin.register(CheckResult)
class CheckResultAdmin(_ResultAdminBase):
    """Every result, failed first (fail, then error, then pass), newest first within each."""

    ordering = [_STATUS_RANK.asc(), "-executed_at", "-id"]


@admin.register(FailedCheckResult)
class FailedCheckResultAdmin(_ResultAdminBase):
    """What the on-call opens during an incident: failed and errored checks, newest first."""

    list_filter = ["severity", "status", PipelineFilter, "executed_at"]
    ordering = ["-executed_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status__in=[CheckStatus.FAIL, CheckStatus.ERROR])


class CheckResultInline(admin.TabularInline):
    """A run's check results on its admin page, failed first. Use: `inlines = [CheckResultInline]` on RunAdmin."""

    model = CheckResult
    fk_name = "run"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ["check_id", "status", "severity", "violations", "threshold", "executed_at", "error_message"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).order_by(_STATUS_RANK.asc(), "-executed_at")

    def has_add_permission(self, request, obj=None):
        return False
