from rest_framework import exceptions, permissions

from orgs.models import Role
from orgs.principal import Principal


def principal_of(request) -> Principal | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Principal) else None


class HasOrganizationRole(permissions.BasePermission):
    """Every API call acts for one organization with a role.

    Safe methods need `read`, others `write`, unless the view says otherwise through
    `required_roles = {"action_name": "admin"}` or `write_role = "admin"`.
    """

    def has_permission(self, request, view):
        principal = principal_of(request)
        if principal is None:
            raise exceptions.NotAuthenticated()
        required = required_role(request, view)
        if not principal.allows(required):
            raise exceptions.PermissionDenied(
                f"This action needs the '{required}' role; the caller has '{principal.role}'."
            )
        return True


def required_role(request, view) -> str:
    per_action = getattr(view, "required_roles", {}) or {}
    action = getattr(view, "action", None)
    if action in per_action:
        return per_action[action]
    if request.method in permissions.SAFE_METHODS:
        return Role.READ
    return getattr(view, "write_role", Role.WRITE)
