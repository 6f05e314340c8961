"""List filters whose choices respect organization scoping.

Django's built-in related filters list every row of the related table: on a console shared by many
tenants that would show an organization's users the names of other organizations' pipelines.
These filters list only what the user may see.
"""

from abc import ABC, abstractmethod

from django.contrib import admin

from catalog.filters import in_state
from catalog.models import Pipeline
from lineage.models import Dataset
from orgs.admin_scoping import restrict, visible_organizations
from orgs.models import Organization

# A filter sidebar is for picking, not for browsing: past this many choices, search instead.
MAX_CHOICES = 100


def _scoped(queryset, request):
    return restrict(queryset, visible_organizations(request.user))


MAX_ROW_ID = 2**63 - 1  # the largest primary key either database stores


class _ScopedChoiceFilter(admin.SimpleListFilter, ABC):
    field_path = ""  # the lookup on the filtered model, e.g. "pipeline"

    @abstractmethod
    def choice_queryset(self, request):
        """The related rows this user may pick from."""

    def label(self, obj) -> str:
        return str(obj)

    def lookups(self, request, model_admin):
        return [(str(obj.pk), self.label(obj)) for obj in self.choice_queryset(request)[:MAX_CHOICES]]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # isdigit() alone passes "²", which int() refuses; past 64 bits SQLite's driver raises OverflowError.
        if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_ROW_ID:
            return queryset.none()
        return queryset.filter(**{f"{self.field_path}_id": int(value)})


class OrganizationFilter(_ScopedChoiceFilter):
    title = "organization"
    parameter_name = "organization"
    field_path = "organization"

    def choice_queryset(self, request):
        return restrict(Organization.objects.order_by("slug"), visible_organizations(request.user), field="pk")

    def label(self, obj):
        return obj.slug


class PipelineFilter(admin.SimpleListFilter):
    """By pipeline name (`?pipeline=orders_sync`): readable links, and the same name in two visible
    organizations is one choice (narrow with the organization filter)."""

    title = "pipeline"
    parameter_name = "pipeline"

    def lookups(self, request, model_admin):
        names = _scoped(Pipeline.objects.all(), request).order_by("name").values_list("name", flat=True).distinct()
        return [(name, name) for name in names[:MAX_CHOICES]]

    def queryset(self, request, queryset):
        return queryset.filter(pipeline__name=self.value()) if self.value() else queryset


class DatasetFilter(_ScopedChoiceFilter):
    title = "dataset"
    parameter_name = "dataset"
    field_path = "dataset"

    def choice_queryset(self, request):
        return _scoped(Dataset.objects.select_related("organization"), request).order_by("dataset_id", "namespace")

    def label(self, obj):
        return f"{obj} ({obj.organization.slug})"


class LatenessFilter(admin.SimpleListFilter):
    """Late now, on time, or paused (catalog.lateness); the same states as the API's `?state=`."""

    title = "lateness"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("late", "late"), ("on_time", "on time"), ("paused", "paused")]

    def queryset(self, request, queryset):
        return in_state(queryset, self.value())
