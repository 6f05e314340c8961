"""Admin pages that show staff every organization and an organization's own users only theirs.

Superusers (the DataXPipe staff) see all rows. Any other user allowed into the admin sees the rows
of the organizations they are a member of, and can only pick those organizations in forms.
"""

from django.contrib import admin

from orgs.models import Organization


def visible_organizations(user):
    """None means every organization; otherwise a queryset of the user's organizations."""
    if user.is_superuser:
        return None
    return Organization.objects.filter(memberships__user=user)


class OrganizationScopedAdmin(admin.ModelAdmin):
    organization_field = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = visible_organizations(request.user)
        if scope is None:
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": scope})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = visible_organizations(request.user)
        if db_field.name == self.organization_field and scope is not None:
            kwargs["queryset"] = scope
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
