from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from orgs import limits, services
from orgs.models import ApiKey, Membership, Organization, UsageCounter


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["masked", "name", "role", "state", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # keys are created through the key form, which shows the key once


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "is_active", "created_at"]
    list_filter = ["plan", "is_active"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at", "plan_limits", "plan_usage"]
    inlines = [MembershipInline, ApiKeyInline]

    @admin.display(description="limits")
    def plan_limits(self, obj):
        return limits.limits_for(obj) if obj.pk else "-"

    @admin.display(description="usage")
    def plan_usage(self, obj):
        return limits.current_usage(obj) if obj.pk else "-"


class ApiKeyCreationForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["organization", "name", "role", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["masked", "organization", "name", "role", "state", "last_used_at", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "prefix", "organization__slug"]
    actions = ["revoke_selected"]
    readonly_fields = ["masked", "organization", "role", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = [
        "masked",
        "organization",
        "name",
        "role",
        "expires_at",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
            kwargs["fields"] = ApiKeyCreationForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.fields if obj else ApiKeyCreationForm.Meta.fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, full_key = services.create_api_key(
            organization=obj.organization,
            name=obj.name,
            role=obj.role,
            expires_at=obj.expires_at,
            created_by=request.user,
        )
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        obj._full_key = full_key

    def response_add(self, request, obj, post_url_continue=None):
        # The key is rendered into this one response and kept nowhere: not in a message, a
        # session or a log.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "api_key": obj,
            "full_key": obj._full_key,
            "title": "API key created",
        }
        response = TemplateResponse(request, "admin/orgs/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request, queryset):
        count = services.revoke_api_keys(queryset)
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)


@admin.register(UsageCounter)
class UsageCounterAdmin(admin.ModelAdmin):
    list_display = ["organization", "metric", "period", "value"]
    list_filter = ["metric", "period"]
    list_select_related = ["organization"]
