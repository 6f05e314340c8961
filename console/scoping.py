"""The console's base for tenant tables: orgs.admin_scoping's rule, and a 404 for rows out of scope.

Django's admin answers a change page of a row it cannot find with a redirect to the index and a
message; here a row of another organization is simply not found (404), as in the API, so the
console never tells an organization's user that such a row exists.
"""

from django.http import Http404

from orgs.admin_scoping import OrganizationScopedAdmin


class ScopedAdmin(OrganizationScopedAdmin):
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} with this id.")
