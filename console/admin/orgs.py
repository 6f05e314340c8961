import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from billing import selectors as billing_selectors
from billing import services as billing_services
from console.admin_errors import DomainErrorsAdminMixin, shows_domain_errors
from console.display import when
from console.scoping import ScopedAdmin, ScopedInlineMixin
from console.staff import StaffOnlyAdminMixin
from orgs import limits, services
from orgs.models import ApiKey, Membership, OIDCIdentity, Organization, UsageCounter
from orgs.oidc import configured_issuer
from workflows.usage import organization_usage


class MembershipInline(ScopedInlineMixin, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        # Each row's caption (Membership.__str__) names its user and organization: joined, not read per row.
        return super().get_queryset(request).select_related("user", "organization")


class ApiKeyInline(ScopedInlineMixin, admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["masked", "name", "role", "state", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # keys are created through the key form, which shows the key once


@admin.register(Organization)
class OrganizationAdmin(DomainErrorsAdminMixin, StaffOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "plan_source", "is_active", "created_at"]
    list_filter = ["plan", "is_active", "billing__plan_source"]
    list_select_related = ["billing"]
    search_fields = ["slug", "name"]
    readonly_fields = [
        "created_at",
        "plan_source",
        "limits_and_usage",
        "stripe_customer",
        "stripe_subscription",
        "plan_history",
    ]
    inlines = [MembershipInline, ApiKeyInline]
    actions = ["return_plan_to_stripe"]

    @admin.display(description="plan source")
    def plan_source(self, obj):
        state = getattr(obj, "billing", None) if obj.pk else None
        return state.get_plan_source_display() if state else "default (no subscription)"

    @admin.display(description="limits and usage")
    def limits_and_usage(self, obj):
        if not obj.pk:
            return "-"
        allowed, used = limits.limits_for(obj), organization_usage(obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                # Settings without a usage count (history_days, check_concurrency) show "-" rather than 0 used.
                (metric, used.get(metric, "-"), "unlimited" if limit is None else limit)
                for metric, limit in allowed.items()
            ),
        )
        return format_html("<table><tr><th>metric</th><th>used</th><th>limit</th></tr>{}</table>", rows)

    @admin.display(description="Stripe customer")
    def stripe_customer(self, obj):
        customers = list(billing_selectors.customers_of(obj)) if obj.pk else []
        return ", ".join(customer.id for customer in customers) or "-"

    @admin.display(description="Stripe subscriptions")
    def stripe_subscription(self, obj):
        subscriptions = list(billing_selectors.subscriptions_of(obj)[:5]) if obj.pk else []
        return ", ".join(f"{sub.id} ({sub.status})" for sub in subscriptions) or "-"

    @admin.display(description="plan history (latest 10)")
    def plan_history(self, obj):
        if not obj.pk:
            return "-"
        changes = obj.plan_changes.select_related("changed_by")[:10]
        return (
            format_html_join(
                mark_safe("<br>"),
                "{}: {} -> {} ({}{})",
                (
                    (
                        f"{change.created_at:%Y-%m-%d %H:%M}",
                        change.from_plan,
                        change.to_plan,
                        change.get_source_display(),
                        f", {change.changed_by}" if change.changed_by else f", {change.stripe_event_id}",
                    )
                    for change in changes
                ),
            )
            or "-"
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "plan" in form.base_fields:
            form.base_fields["plan"].help_text = (
                "Changing the plan here sets it by hand (enterprise contracts): Stripe events stop changing it "
                "until the action 'Let Stripe subscriptions decide the plan again'."
            )
        return form

    def save_model(self, request, obj, form, change):
        if not (change and "plan" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        # The plan goes through the billing service: it records the change and stops Stripe events
        # from overriding a plan staff set by hand (enterprise contracts).
        wanted_plan = obj.plan
        obj.plan = form.initial["plan"]
        super().save_model(request, obj, form, change)
        billing_services.set_plan_by_staff(obj, wanted_plan, changed_by=request.user)
        obj.plan = wanted_plan
        obj._staff_plan_change = (form.initial["plan"], wanted_plan)

    def log_change(self, request, obj, message):
        plan_change = getattr(obj, "_staff_plan_change", None)
        if plan_change:
            text = LogEntry(change_message=json.dumps(message) if message else "").get_change_message()
            message = (
                f"{text} Plan set by staff: {plan_change[0]} -> {plan_change[1]}; Stripe events no longer change it."
            ).strip()
        return super().log_change(request, obj, message)

    @admin.action(description="Let Stripe subscriptions decide the plan again")
    def return_plan_to_stripe(self, request, queryset):
        for organization in queryset:
            updated = billing_services.return_plan_to_stripe(organization)
            self.log_change(request, updated, f"Plan returned to Stripe control; plan is now {updated.plan}.")
        self.message_user(request, f"{queryset.count()} organization(s) now follow their Stripe subscriptions.")


class ApiKeyCreationForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["organization", "name", "role", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(DomainErrorsAdminMixin, StaffOnlyAdminMixin, ScopedAdmin):
    """Keys are created here (the key is shown once, on the response to the form) and revoked here;
    the secret itself is never stored, so no page can show it again."""

    list_display = ["masked", "organization", "name", "role", "state_badge", "last_used", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "prefix", "organization__slug"]
    actions = ["revoke_selected"]
    readonly_fields = [
        "masked",
        "state_badge",
        "organization",
        "role",
        "created_by",
        "created_at",
        "last_used",
        "revoked_at",
    ]
    fields = [
        "masked",
        "state_badge",
        "organization",
        "name",
        "role",
        "expires_at",
        "created_by",
        "created_at",
        "last_used",
        "revoked_at",
    ]
    change_form_template = "admin/orgs/apikey/change_form.html"

    @admin.display(description="state")
    def state_badge(self, obj):
        state = obj.state
        return format_html('<span class="badge badge-key-{}">{}</span>', state, state)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj):
        return when(obj.last_used_at) if obj.last_used_at else "never"

    def get_urls(self):
        revoke = path(
            "<path:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="orgs_apikey_revoke",
        )
        return [revoke, *super().get_urls()]

    @shows_domain_errors
    def revoke_view(self, request, object_id):
        """The Revoke button of a key's page (POST, CSRF-checked by the admin view)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        key = self.get_object(request, object_id)
        if key is None:
            raise Http404("No such API key.")
        if services.revoke_api_keys(ApiKey.objects.for_organization(key.organization_id).filter(pk=key.pk)):
            self.log_change(request, key, "Revoked.")
            self.message_user(request, f"Revoked the API key {key.masked}.", messages.SUCCESS)
        else:
            self.message_user(request, f"The API key {key.masked} was already revoked.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:orgs_apikey_change", args=[key.pk]))

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
        active = list(queryset.filter(revoked_at__isnull=True))
        # `queryset` is the page's own rows, scoped like every admin page: no cross-organization read needed.
        count = services.revoke_api_keys(queryset.filter(pk__in=[key.pk for key in active]))
        for key in active:
            self.log_change(request, key, "Revoked.")
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)


@admin.register(UsageCounter)
class UsageCounterAdmin(DomainErrorsAdminMixin, StaffOnlyAdminMixin, ScopedAdmin):
    list_display = ["organization", "metric", "period", "value"]
    list_filter = ["metric", "period"]
    list_select_related = ["organization"]


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(DomainErrorsAdminMixin, StaffOnlyAdminMixin, admin.ModelAdmin):
    """Staff link a provider account to an existing user by hand (an account created before
    identities were kept, or one that must join a user staff already set up). Linking grants that
    account everything the user can do, so it is staff-only and never automatic."""

    list_display = ["user", "subject", "issuer", "created_at"]
    list_select_related = ["user"]
    search_fields = ["subject", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    fields = ["user", "issuer", "subject", "created_at"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A link is deleted and made anew rather than edited to point at someone else.
        return ["user", "issuer", "subject", "created_at"] if obj else self.readonly_fields

    def get_changeform_initial_data(self, request):
        return {"issuer": configured_issuer(), **super().get_changeform_initial_data(request)}
