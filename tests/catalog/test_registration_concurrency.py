"""Parallel registrations on PostgreSQL: the unique constraints, not timing, decide the outcome."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from catalog.models import Pipeline, PipelineVersion
from checks.models import CheckDefinition
from lineage.models import Dataset, LineageEdge

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def post_in_parallel(key, bodies):
    barrier = threading.Barrier(len(bodies))
    statuses = [None] * len(bodies)

    def worker(index):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=key)
            barrier.wait()
            statuses[index] = client.post("/api/v1/pipelines/", bodies[index], format="json").status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_same_new_pipeline_version_registered_at_once_is_one_entry(org_a, make_key, example_spec):
    assert connection.vendor == "postgresql"
    statuses = post_in_parallel(make_key(org_a), [example_spec] * THREADS)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert Pipeline.objects.unscoped().filter(name="orders_sync").count() == 1
    assert PipelineVersion.objects.unscoped().count() == 1
    assert CheckDefinition.objects.unscoped().count() == 3
    assert LineageEdge.objects.unscoped().count() == 3
    assert Dataset.objects.unscoped().count() == 4


def test_parallel_new_version_of_an_existing_pipeline(org_a, make_key, example_spec, register):
    register(org_a, example_spec)
    statuses = post_in_parallel(make_key(org_a), [{**example_spec, "version": "4"}] * THREADS)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert list(PipelineVersion.objects.unscoped().values_list("version", flat=True).order_by("version")) == ["3", "4"]
    assert Pipeline.objects.unscoped().get().current_version.version == "4"
    assert set(LineageEdge.objects.unscoped().values_list("pipeline_version__version", flat=True)) == {"4"}


def test_same_version_with_different_contents_at_once_one_wins_the_rest_conflict(org_a, make_key, example_spec):
    bodies = [{**example_spec, "description": f"variant {index}"} for index in range(THREADS)]
    statuses = post_in_parallel(make_key(org_a), bodies)
    assert statuses == [201] + [409] * (THREADS - 1)
    assert PipelineVersion.objects.unscoped().count() == 1


def test_different_pipelines_sharing_datasets_register_at_once(org_a, make_key, example_spec):
    """Every body declares the same datasets (with new locations): no deadlock, one dataset row each."""
    bodies = []
    for index in range(THREADS):
        body = {**example_spec, "name": f"copy_{index}", "checks": []}
        body["sources"] = [{**source, "table": f"{source['table']}_{index}"} for source in example_spec["sources"]]
        bodies.append(body)
    assert post_in_parallel(make_key(org_a), bodies) == [201] * THREADS
    assert Dataset.objects.unscoped().count() == 4
    assert LineageEdge.objects.unscoped().count() == 3 * THREADS
