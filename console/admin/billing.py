from django.contrib import admin

from billing.models import OrganizationBilling, PlanChange
from console.admin_errors import DomainErrorsAdminMixin
from console.scoping import ScopedAdmin
from console.staff import StaffOnlyAdminMixin


@admin.register(PlanChange)
class PlanChangeAdmin(StaffOnlyAdminMixin, ScopedAdmin):
    """The plan history: written by the billing service only (webhooks and staff changes)."""

    list_display = ["created_at", "organization", "from_plan", "to_plan", "source", "subscription_status", "changed_by"]
    list_filter = ["source", "to_plan"]
    list_select_related = ["organization", "changed_by"]
    search_fields = ["organization__slug", "stripe_event_id", "subscription_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrganizationBilling)
class OrganizationBillingAdmin(DomainErrorsAdminMixin, StaffOnlyAdminMixin, ScopedAdmin):
    list_display = ["organization", "plan_source", "subscription_id", "subscription_status", "synced_at"]
    list_filter = ["plan_source", "subscription_status"]
    list_select_related = ["organization"]
    search_fields = ["organization__slug", "subscription_id"]
    readonly_fields = ["organization", "plan_source", "subscription_id", "subscription_status", "synced_at"]

    def has_add_permission(self, request):
        return False  # staff set plans on the organization page, where the change is logged
