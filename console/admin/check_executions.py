"""The console's view of check executions: what is queued and running now, per organization, read-only.

Executions are written by the API and the workers only. The list opens on the executions in flight
(queued, dispatched, running), oldest first: the head of each organization's queue is what an operator
looks at when checks wait. Staff see every organization; other admin users only theirs.
"""

from django.contrib import admin
from django.utils import timezone

from checks.models import ACTIVE_STATES, CheckExecution, ExecutionState
from config.pagination import CappedCountPaginator
from console.display import badge, when
from console.filters import OrganizationFilter
from console.scoping import ScopedAdmin

IN_FLIGHT = "in_flight"


class ExecutionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(IN_FLIGHT, "in flight (queued, dispatched, running)"), *ExecutionState.choices, ("all", "all")]

    def choices(self, changelist):
        # "In flight" is the default: the page opens on what is waiting and running now.
        current = self.value() or IN_FLIGHT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or IN_FLIGHT
        if value == IN_FLIGHT:
            return queryset.filter(state__in=ACTIVE_STATES)
        if value in ExecutionState.values:
            return queryset.filter(state=value)
        return queryset


@admin.register(CheckExecution)
class CheckExecutionAdmin(ScopedAdmin):
    list_display = [
        "execution_id",
        "state_badge",
        "organization",
        "check_id",
        "connection_id",
        "created_at",
        "waited",
        "started",
        "lease",
    ]
    list_filter = [ExecutionStateFilter, OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["=execution_id", "=check_id"]
    search_help_text = "Exact execution id or check id."
    ordering = ["created_at", "id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 100
    fields = [
        "execution_id",
        "state_badge",
        "organization",
        "check_id",
        "connection_id",
        "request",
        "result",
        "error_kind",
        "error_message",
        "created_at",
        "dispatched_at",
        "started_at",
        "finished_at",
        "lease_expires_at",
        "latency_ms",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # asked for through the API

    def has_change_permission(self, request, obj=None):
        return False  # written by the workers; an operator watches

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a running execution would free its slot while the check still runs

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state)

    @admin.display(description="waited")
    def waited(self, obj):
        """Time in the queue: until a worker started it, or until now while it still waits."""
        end = obj.started_at or (obj.finished_at if obj.state not in ACTIVE_STATES else timezone.now())
        return f"{(end - obj.created_at).total_seconds():.1f} s" if end else "-"

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return when(obj.started_at)

    @admin.display(description="lease until", ordering="lease_expires_at")
    def lease(self, obj):
        return when(obj.lease_expires_at)
