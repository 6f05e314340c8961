"""orgs.tenancy: a query of organization-owned rows that never said whose rows it reads fails, before
it reaches the database; a decided one reads exactly the rows it decided on."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Count, F, OuterRef, Q, Subquery

from catalog.models import Pipeline, Run, RunStatus
from orgs.models import Organization, UsageCounter
from orgs.tenancy import OrganizationScopedManager, UnscopedQueryError
from tests.console import world

pytestmark = pytest.mark.django_db

OWN_APPS = {"orgs", "catalog", "checks", "lineage", "billing", "console"}


@pytest.fixture
def worlds(org_a, org_b):
    return world.build(org_a, runs=2), world.build(org_b, runs=2)


def statuses():
    return sorted(Run.objects.unscoped().values_list("organization__slug", "status"))


def test_every_model_owned_by_an_organization_has_the_scoped_manager_as_objects():
    """A new model with an organization foreign key and a plain manager fails here."""
    owned = [
        model
        for model in apps.get_models()
        if model._meta.app_label in OWN_APPS
        and any(field.related_model is Organization for field in model._meta.concrete_fields)
    ]
    assert len(owned) >= 15  # a rename that hid every model from this walk would pass it vacuously
    for model in owned:
        assert isinstance(model._default_manager, OrganizationScopedManager), model._meta.label
        assert model.objects is model._default_manager, model._meta.label


UNDECIDED_READS = {
    "iteration": lambda: list(Run.objects.filter(status=RunStatus.FAILED)),
    "len": lambda: len(Run.objects.all()),
    "bool": lambda: bool(Run.objects.all()),
    "index": lambda: Run.objects.order_by("pk")[0],
    "get": lambda: Run.objects.get(run_id="org_b-run-0000"),
    "first": lambda: Run.objects.first(),
    "last": lambda: Run.objects.last(),
    "latest": lambda: Run.objects.latest("created_at"),
    "count": lambda: Run.objects.count(),
    "exists": lambda: Run.objects.filter(run_id="org_b-run-0000").exists(),
    "aggregate": lambda: Run.objects.aggregate(n=Count("pk")),
    "iterator": lambda: list(Run.objects.iterator()),
    "in_bulk": lambda: Run.objects.in_bulk(),
    "values_list": lambda: list(Run.objects.values_list("run_id", flat=True)),
    "values": lambda: list(Run.objects.values("run_id")),
    "contains": lambda: Run.objects.contains(Run(pk=1)),
    "explain": lambda: Run.objects.explain(),
    "get_or_create": lambda: Run.objects.get_or_create(run_id="org_b-run-0000"),
    "dates": lambda: list(Run.objects.dates("created_at", "day")),
    "union": lambda: Run.objects.filter(organization__slug="org-a").union(Run.objects.all()),
    "a | b": lambda: Run.objects.unscoped().filter(status="x") | Run.objects.all(),
    "raw": lambda: Run.objects.raw("SELECT * FROM catalog_run"),
    "raw on a scoped queryset": lambda: Run.objects.for_organization(1).raw("SELECT * FROM catalog_run"),
}


@pytest.mark.parametrize("operation", sorted(UNDECIDED_READS))
def test_every_read_of_an_undecided_queryset_raises(worlds, operation, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(UnscopedQueryError, match=r"\.unscoped\(\)"):
        UNDECIDED_READS[operation]()


UNDECIDED_WRITES = {
    "update": lambda: Run.objects.filter(status=RunStatus.FAILED).update(status=RunStatus.CANCELLED),
    "delete": lambda: Run.objects.filter(status=RunStatus.FAILED).delete(),
    "update_or_create": lambda: Run.objects.update_or_create(run_id="org_b-run-0000", defaults={"status": "x"}),
    "bulk_update": lambda: Run.objects.bulk_update(
        [Run(pk=run.pk, status=RunStatus.CANCELLED) for run in Run.objects.unscoped()], ["status"]
    ),
}


@pytest.mark.parametrize("operation", sorted(UNDECIDED_WRITES))
def test_an_undecided_write_raises_and_changes_no_row(worlds, operation):
    before = statuses()
    with pytest.raises(UnscopedQueryError):
        UNDECIDED_WRITES[operation]()
    assert statuses() == before


def test_create_and_bulk_create_carry_their_organization_and_stay_allowed(org_a):
    UsageCounter.objects.create(organization=org_a, metric="a", period="2025-01-01")
    UsageCounter.objects.bulk_create([UsageCounter(organization=org_a, metric="b", period="2025-01-01")])
    assert UsageCounter.objects.for_organization(org_a).count() == 2


def test_a_decided_queryset_reads_only_its_organizations_rows_and_chaining_keeps_the_decision(
    worlds, org_a, org_b, make_org
):
    mine = Run.objects.for_organization(org_a).filter(status__in=RunStatus.values).order_by("run_id")
    assert {run.organization_id for run in mine} == {org_a.pk}
    assert list(mine.values_list("run_id", flat=True)) == ["org_a-run-0000", "org_a-run-0001"]
    assert Run.objects.for_organization(org_b.pk).count() == 2  # a primary key works as well
    assert Run.objects.for_organizations(Organization.objects.filter(slug="org-a")).count() == 2
    assert Run.objects.for_organizations([org_a.pk, org_b.pk]).count() == 4
    assert Run.objects.for_organization(make_org("empty")).count() == 0
    assert Run.objects.unscoped().count() == 4
    # The decision survives values(), slicing, select_related and the rest of the chain.
    assert len(Run.objects.for_organization(org_a).select_related("pipeline").values("run_id")[:1]) == 1


def test_none_is_not_an_organization(worlds):
    with pytest.raises(UnscopedQueryError):
        Run.objects.for_organization(None)
    with pytest.raises(UnscopedQueryError):
        Run.objects.for_organizations(None)


def test_a_filter_on_exactly_one_organization_counts_as_scoped_and_a_wider_one_does_not(worlds, org_a, org_b):
    assert Run.objects.filter(organization=org_a).count() == 2
    assert Run.objects.filter(organization_id=org_b.pk, status__in=RunStatus.values).count() == 2
    for wider in (
        Run.objects.filter(Q(organization=org_a) | Q(status=RunStatus.FAILED)),
        Run.objects.exclude(organization=org_a),
        Run.objects.filter(organization__slug="org-a"),
        Run.objects.filter(pipeline__organization=org_a),
    ):
        with pytest.raises(UnscopedQueryError):
            wider.count()


def test_the_one_organization_filter_cannot_be_fooled_into_a_wider_read(worlds, org_a, org_b):
    """Spellings that look like `organization=<one>` but read no organization, several, or one chosen per row:
    none counts as a decision, and none reaches the database."""
    assert Run.objects.filter(organization=org_a).filter(Q(status=RunStatus.FAILED) | Q(pk__gt=0)).count() == 2
    own_pipeline = Pipeline.objects.for_organization(org_b).values("organization")[:1]
    for fooling in (
        Run.objects.filter(organization=None),  # an IS NULL, not one organization
        Run.objects.filter(organization__isnull=False),
        Run.objects.filter(organization__in=[org_a.pk]),  # several organizations: for_organizations says so
        Run.objects.filter(organization__in=Organization.objects.all()),
        Run.objects.filter(Q(organization=org_a) | Q(organization=org_b)),
        Run.objects.filter(Q(organization=org_a) | ~Q(organization=org_a)),
        Run.objects.filter(~Q(~Q(organization=org_a))),
        Run.objects.filter(organization__gte=org_a.pk),
        Run.objects.filter(organization=F("pipeline__organization")),  # each row's own: every organization
        Run.objects.filter(organization=Subquery(own_pipeline)),  # an expression, not a value
        Run.objects.filter(pipeline__organization=org_a).filter(pipeline__runs__organization=org_a),
    ):
        with pytest.raises(UnscopedQueryError):
            list(fooling)
    with pytest.raises(UnscopedQueryError):
        Run.objects.filter(organization=org_a).union(Run.objects.filter(organization__slug="org-b"))


def test_an_empty_queryset_and_repr_never_touch_the_database_nor_raise(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(Run.objects.none()) == []
        assert "scope not decided" in repr(Run.objects.all())


def test_related_managers_prefetches_and_django_internals_keep_working(worlds, org_a, django_assert_num_queries):
    pipeline = worlds[0]["pipeline"]
    assert pipeline.runs.count() == 2
    assert {run.organization_id for run in pipeline.runs.all()} == {org_a.pk}
    assert org_a.runs.filter(status__in=RunStatus.values).count() == 2
    with django_assert_num_queries(3):
        (loaded,) = Pipeline.objects.for_organization(org_a).prefetch_related("runs", "versions")[:1]
    assert len(loaded.runs.all()) == 2
    run = Run.objects.for_organization(org_a).first()
    assert run.pipeline == pipeline  # a foreign key reads through the plain base manager
    run.refresh_from_db()
    latest = Subquery(Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at").values("run_id")[:1])
    assert Pipeline.objects.for_organization(org_a).annotate(latest=latest).get().latest == "org_a-run-0001"
    org_a.delete()  # cascades through every owned table with the base manager
    assert Run.objects.unscoped().count() == 2


def test_djangos_uniqueness_validation_of_a_per_organization_constraint_still_runs(org_a):
    UsageCounter.objects.create(organization=org_a, metric="runs_per_month", period="2025-01-01")
    duplicate = UsageCounter(organization=org_a, metric="runs_per_month", period="2025-01-01", value=1)
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()
