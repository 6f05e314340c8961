"""Django, DRF and django-filter build choice querysets from `_default_manager` by themselves (a writable
related field, a unique validator, a model-choice filter). Over an organization's rows, such a chooser
would raise at its first use: none may exist undecided."""

import importlib

import django_filters
import pytest
from django.apps import apps
from rest_framework import relations, serializers, validators

from orgs.tenancy import OrganizationScopedQuerySet

OWN_APPS = ["orgs", "catalog", "checks", "lineage", "billing"]
MODULES = [f"{app}.{module}" for app in OWN_APPS for module in ("api.serializers", "filters")]


def _import_all():
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _ours(cls) -> bool:
    return cls.__module__.split(".")[0] in OWN_APPS


def _undecided(queryset) -> bool:
    return isinstance(queryset, OrganizationScopedQuerySet) and queryset.organization_scope is None


def test_no_filterset_offers_an_undecided_choice_of_an_organizations_rows():
    _import_all()
    filtersets = [cls for cls in _subclasses(django_filters.FilterSet) if _ours(cls)]
    assert filtersets
    for filterset in filtersets:
        for name, declared in filterset.base_filters.items():
            queryset = declared.extra.get("queryset")
            if queryset is not None and not callable(queryset):
                assert not _undecided(queryset.all()), f"{filterset.__name__}.{name}"


@pytest.mark.django_db
def test_no_serializer_resolves_or_validates_against_an_undecided_queryset():
    _import_all()
    found = [cls for cls in _subclasses(serializers.Serializer) if _ours(cls)]
    assert found
    for serializer_class in found:
        try:
            serializer = serializer_class()
        except TypeError:
            continue  # needs arguments to exist at all: it is built by its view, with them
        for name, field in serializer.fields.items():
            if isinstance(field, relations.RelatedField) and not field.read_only:
                assert not _undecided(field.queryset.all()), f"{serializer_class.__name__}.{name}"
        field_validators = [v for field in serializer.fields.values() for v in getattr(field, "validators", [])]
        for validator in [*serializer.get_validators(), *field_validators]:
            if isinstance(validator, validators.UniqueTogetherValidator | validators.UniqueValidator):
                assert not _undecided(validator.queryset.all()), f"{serializer_class.__name__} {validator}"
    assert apps.get_model("catalog.Run")  # the app registry is loaded: the walk saw real classes
