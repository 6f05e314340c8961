"""The console's base for tenant tables: orgs.admin_scoping's rule, and a 404 for rows out of scope.

Django's admin answers a change page of a row it cannot find with a redirect to the index and a
message; here a row of another organization is simply not found (404), as in the API, so the
console never tells an organization's user that such a row exists.
"""

from django.contrib import admin
from django.http import Http404

from orgs.admin_scoping import restrict, visible_organizations


class ScopedAdmin(admin.ModelAdmin):
    organization_field = "organization"

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), visible_organizations(request.user), self.organization_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = visible_organizations(request.user)
        if db_field.name == self.organization_field and scope is not None:
            kwargs["queryset"] = scope
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} with this id.")
