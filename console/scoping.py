"""The console's base for tenant tables: orgs.admin_scoping's rule, and a 404 for rows out of scope.

Django's admin answers a change page of a row it cannot find with a redirect to the index and a
message; here a row of another organization is simply not found (404), as in the API, so the
console never tells an organization's user that such a row exists.
"""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import Http404

from orgs.admin_scoping import restrict, visible_organizations
from orgs.tenancy import OrganizationScopedQuerySet


class ScopedRowsMixin:
    """Rows and foreign-key choices of a ModelAdmin or an inline: every organization's for staff,
    the user's own organizations' otherwise."""

    organization_field = "organization"

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), visible_organizations(request.user), self.organization_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = visible_organizations(request.user)
        choices = db_field.remote_field.model._default_manager.all()
        if db_field.name == self.organization_field and scope is not None:
            kwargs["queryset"] = scope
        elif "queryset" not in kwargs and isinstance(choices, OrganizationScopedQuerySet):
            kwargs["queryset"] = restrict(choices, scope)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        row_id = form.fields.get(self._pk_field.name)
        if row_id is not None and hasattr(row_id, "queryset"):
            # Django looks a posted row id up among every row of the table; here, among this formset's rows.
            row_id.queryset = self.get_queryset()


class ScopedInlineMixin(ScopedRowsMixin):
    """The base of an inline of an organization-owned model: `class X(ScopedInlineMixin, admin.TabularInline)`."""

    formset = ScopedInlineFormSet


class ScopedAdmin(ScopedRowsMixin, admin.ModelAdmin):
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} with this id.")
