"""The walk's SQL answers only from the caller's organization, even when handed another organization's pk."""

import pytest

from lineage import selectors
from lineage.models import LineageEdge
from tests.lineage.factories import make_dataset, make_pipeline

pytestmark = pytest.mark.django_db


def test_walk_from_another_organizations_dataset_finds_nothing(org_a, org_b):
    pipeline = make_pipeline(org_b, "b_pipe")
    source, target = make_dataset(org_b, "b.src"), make_dataset(org_b, "b.dst")
    LineageEdge.objects.create(organization=org_b, source=source, target=target, pipeline=pipeline)

    found = selectors.walk(organization_id=org_a.pk, start_pk=source.pk, direction=selectors.DOWNSTREAM, depth=3)

    assert found.depths == {}
    assert found.edges == set()


def test_walk_does_not_name_a_pipeline_of_another_organization(org_a, org_b):
    """An edge row pointing at a foreign pipeline (which no write path makes) is not followed to its name."""
    foreign = make_pipeline(org_b, "secret_pipeline")
    source, target = make_dataset(org_a, "a.src"), make_dataset(org_a, "a.dst")
    LineageEdge.objects.create(organization=org_a, source=source, target=target, pipeline=foreign)

    found = selectors.walk(organization_id=org_a.pk, start_pk=source.pk, direction=selectors.DOWNSTREAM, depth=3)

    assert "secret_pipeline" not in {name for _, _, name in found.edges}
