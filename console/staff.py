"""Pages for DataXPipe staff (superusers) only: organizations, API keys, plans and billing.

An organization's users given admin access browse their own pipelines, runs and checks; managing
tenants and credentials stays with staff, whatever model permissions a user has been given.
"""


class StaffOnlyAdminMixin:
    def _is_staff(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._is_staff(request)

    def has_view_permission(self, request, obj=None):
        return self._is_staff(request)

    def has_add_permission(self, request, *args):
        return self._is_staff(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._is_staff(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_staff(request) and super().has_delete_permission(request, obj)
