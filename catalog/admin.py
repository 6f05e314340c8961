"""The operator's view of the catalog: pipelines, run history (huge: never counted) and connections.

Pipelines and connections are written through the API (validation, plan limits, encryption live in
catalog.services); the admin reads them, deletes them, and cancels runs through the same service.
"""

import json

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.html import format_html

from catalog import selectors
from catalog.connection_config import display_config
from catalog.models import TERMINAL_RUN_STATUSES, Connection, Pipeline, PipelineVersion, Run, RunStatus
from catalog.services import apply_run_event


class EstimatedCountPaginator(Paginator):
    """Pages a huge table without COUNT(*) over it.

    Unfiltered on PostgreSQL: the planner's row estimate (pg_class.reltuples). Otherwise: a count
    capped at COUNT_CAP rows, so a broad filter costs at most a bounded scan.
    """

    COUNT_CAP = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        database = connections[queryset.db]
        if database.vendor == "postgresql" and not queryset.query.where:
            with database.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > self.COUNT_CAP:
                return int(row[0])
        return queryset.order_by().values("pk")[: self.COUNT_CAP + 1].count()


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PipelineVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PipelineVersion
    fields = ["version", "spec_hash", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]


@admin.register(Pipeline)
class PipelineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "current_version_label", "owner", "latest_run", "schedule", "updated_at"]
    list_filter = ["organization", "is_external"]
    search_fields = ["name", "owner"]
    list_select_related = ["organization", "current_version"]
    fields = [
        "organization",
        "name",
        "current_version_label",
        "owner",
        "description",
        "schedule",
        "tags",
        "is_external",
        "latest_run",
        "current_spec",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [PipelineVersionInline]

    def get_queryset(self, request):
        return selectors.pipelines_with_latest_run(super().get_queryset(request))

    @admin.display(description="current version", ordering="current_version__version")
    def current_version_label(self, obj):
        return obj.current_version.version if obj.current_version else "-"

    @admin.display(description="latest run", ordering="latest_run_status")
    def latest_run(self, obj):
        return obj.latest_run_status or "-"

    @admin.display(description="current spec")
    def current_spec(self, obj):
        return _pretty_json(obj.current_version.spec) if obj.current_version else "-"


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["run_id", "pipeline", "organization", "status", "started_at", "finished_at", "created_at"]
    list_filter = ["status", "organization", "pipeline", "created_at"]
    list_select_related = ["pipeline", "organization"]
    date_hierarchy = "created_at"
    # Exact match on the indexed (organization, run_id) key; a LIKE over millions of rows is not an option.
    search_fields = ["=run_id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["cancel_selected"]
    fields = [
        "run_id",
        "organization",
        "pipeline",
        "pipeline_version",
        "status",
        "started_at",
        "finished_at",
        "attributes",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.action(description="Cancel the selected runs that are still queued or running")
    def cancel_selected(self, request, queryset):
        pending = queryset.exclude(status__in=TERMINAL_RUN_STATUSES).select_related("organization", "pipeline")
        cancelled = 0
        for run in pending[:1000]:
            outcome = apply_run_event(
                organization=run.organization,
                pipeline=run.pipeline,
                status=RunStatus.CANCELLED,
                run_id=run.run_id,
                attributes={"cancelled_by": request.user.get_username()},
            )
            cancelled += outcome.changed
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["connection_id", "organization", "type", "updated_at"]
    list_filter = ["type", "organization"]
    search_fields = ["connection_id"]
    list_select_related = ["organization"]
    fields = ["connection_id", "organization", "type", "masked_config", "dsn_password", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="config (secrets are references; a DSN password is masked)")
    def masked_config(self, obj):
        return _pretty_json(display_config(obj))

    @admin.display(description="DSN password")
    def dsn_password(self, obj):
        return "stored encrypted" if obj.encrypted_dsn_password else "none"
