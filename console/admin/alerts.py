"""The console's view of alerts: rules, the alerts they raised and every delivery attempt.

Rules are created through the API (which shows a webhook's signing secret once); here an operator reads them,
turns them on or off, and sends failed alerts again. No URL or secret is ever shown: the URL masked, the
secret not at all. Every page is organization-scoped (console.scoping).
"""

from django.contrib import admin, messages

from alerts import services
from alerts.models import Alert, AlertRule, AlertState, DeliveryAttempt
from config.pagination import CappedCountPaginator
from console.admin_errors import DomainErrorsAdminMixin
from console.display import badge, when
from console.filters import OrganizationFilter
from console.scoping import ScopedAdmin, ScopedInlineMixin


class ReadOnlyFieldsMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(DomainErrorsAdminMixin, ReadOnlyFieldsMixin, ScopedAdmin):
    list_display = ["name", "organization", "events_list", "destination_type", "destination", "enabled", "updated_at"]
    list_filter = [OrganizationFilter, "enabled", "destination_type"]
    list_select_related = ["organization"]
    search_fields = ["name"]
    fields = ["organization", "name", "events_list", "destination_type", "destination", "enabled", "created_at"]
    readonly_fields = fields
    actions = ["enable", "disable"]

    @admin.display(description="events")
    def events_list(self, rule):
        return ", ".join(rule.events)

    @admin.display(description="destination")
    def destination(self, rule):
        return ", ".join(rule.to) if rule.to else rule.url_masked

    @admin.action(description="Enable the selected rules")
    def enable(self, request, queryset):
        changed = services.set_enabled(queryset, True)
        self.message_user(request, f"{changed} rule(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected rules")
    def disable(self, request, queryset):
        changed = services.set_enabled(queryset, False)
        self.message_user(request, f"{changed} rule(s) disabled.", messages.SUCCESS)


class DeliveryAttemptInline(ReadOnlyFieldsMixin, ScopedInlineMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "attempted_at", "succeeded", "status_code", "error", "duration_ms", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Alert)
class AlertAdmin(DomainErrorsAdminMixin, ReadOnlyFieldsMixin, ScopedAdmin):
    list_display = ["created_at", "state_badge", "event", "organization", "rule", "subject", "attempts", "next_try"]
    list_filter = ["state", "event", OrganizationFilter]
    list_select_related = ["organization", "rule"]
    search_fields = ["=run_id", "=result_id", "=pipeline_name", "=check_id"]
    search_help_text = "Exact run id, result id, pipeline name or check id."
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = [
        "organization",
        "rule",
        "event",
        "state_badge",
        "subject",
        "payload",
        "attempts",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["send_again"]

    @admin.display(description="state")
    def state_badge(self, alert):
        return badge(alert.state)

    @admin.display(description="subject")
    def subject(self, alert):
        if alert.run_id and not alert.result_id:
            return f"run {alert.run_id} of {alert.pipeline_name}"
        if alert.result_id:
            return f"check {alert.check_id} (result {alert.result_id})"
        return f"{alert.pipeline_name} late for {when(alert.late_slot)}"

    @admin.display(description="next attempt")
    def next_try(self, alert):
        return when(alert.next_attempt_at) if alert.state == AlertState.PENDING else "-"

    @admin.action(description="Send the selected failed alerts again")
    def send_again(self, request, queryset):
        changed = services.send_again(queryset)
        self.message_user(request, f"{changed} failed alert(s) will be sent again.", messages.SUCCESS)
