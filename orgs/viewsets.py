"""The tenancy base every API view inherits.

`get_queryset` is sealed: subclasses say what to list through `queryset` or
`get_base_queryset()`, and refine it through `scope_queryset()`; the filter by the caller's
organization (`for_organization`, orgs.tenancy) is always applied after both. A view that truly
must see every organization overrides `dangerously_get_unscoped_queryset()`, a name no reviewer
can miss.
"""

from rest_framework import viewsets

from orgs.permissions import principal_of


class OrganizationScopedMixin:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(), which would skip organization scoping; "
                "override scope_queryset() or get_base_queryset() instead."
            )

    @property
    def principal(self):
        return principal_of(self.request)

    @property
    def organization(self):
        return self.principal.organization

    def get_base_queryset(self):
        return self.queryset.all()

    def scope_queryset(self, queryset):
        return queryset

    def dangerously_get_unscoped_queryset(self):
        return None

    def get_queryset(self):
        unscoped = self.dangerously_get_unscoped_queryset()
        if unscoped is not None:
            return unscoped
        queryset = self.scope_queryset(self.get_base_queryset())
        return queryset.for_organization(self.organization)


class OrganizationScopedViewSet(OrganizationScopedMixin, viewsets.GenericViewSet):
    pass
