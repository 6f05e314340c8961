"""`seed_demo` run twice around a user's own activity in the demo organization (issue 14, item 2).

Between the two seeds the user does what the README invites: registers a pipeline and posts runs, on
their pipeline and on the demo's `orders_sync`, with the key the first seed printed. The second seed must
leave all of it alone: the key still works, no check result lands on the user's runs, no quota is spent.
"""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import Run
from checks.models import CheckResult
from orgs.models import ApiKey, Organization, UsageCounter

pytestmark = pytest.mark.django_db

USER_PIPELINE = {
    "name": "my_first_pipeline",
    "version": "1",
    "sources": [{"id": "raw_events"}],
    "targets": [{"id": "events_clean", "inputs": "raw_events"}],
}


def seed_demo(*args) -> list[str]:
    output = io.StringIO()
    call_command("seed_demo", *args, stdout=output)
    return output.getvalue().strip().splitlines()


def usage(organization) -> dict[str, int]:
    counters = UsageCounter.objects.for_organization(organization)
    return {(counter.metric, counter.period): counter.value for counter in counters}


@pytest.fixture(autouse=True)
def demo_warehouses(settings, tmp_path):
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "warehouses")]


def test_a_second_seed_keeps_the_key_and_leaves_the_users_runs_alone():
    key = seed_demo()[-1]
    demo = Organization.objects.get(slug="demo")
    user = APIClient(HTTP_X_API_KEY=key)

    assert user.post("/api/v1/pipelines/", USER_PIPELINE, format="json").status_code == 201
    for body in (
        {"pipeline_id": "my_first_pipeline", "run_id": "mine-1", "status": "running"},
        {"pipeline_id": "my_first_pipeline", "run_id": "mine-2", "status": "failed"},
        # The demo's own pipeline: the old seed attached its demo check results to its newest runs.
        {"pipeline_id": "orders_sync", "run_id": "mine-on-orders-sync", "status": "success"},
    ):
        assert user.post("/api/v1/runs/", body, format="json").status_code == 201
    users_runs = Run.objects.for_organization(demo).filter(run_id__startswith="mine-")
    runs_before = set(Run.objects.for_organization(demo).values_list("run_id", flat=True))
    results_before = CheckResult.objects.for_organization(demo).count()
    usage_before = usage(demo)

    again = seed_demo()

    assert user.get("/api/v1/organizations/me").status_code == 200
    assert key not in "\n".join(again)
    assert "still works" in "\n".join(again) and "seed_demo --new-key" in again[-1]
    assert not CheckResult.objects.for_organization(demo).filter(run__in=users_runs).exists()
    assert CheckResult.objects.for_organization(demo).count() == results_before
    assert set(Run.objects.for_organization(demo).values_list("run_id", flat=True)) == runs_before
    assert usage(demo) == usage_before  # no run, check execution or OpenLineage event counted
    assert ApiKey.objects.for_organization(demo).filter(revoked_at__isnull=True).count() == 1  # no second key
    body = user.get("/api/v1/checks/results?pipeline=orders_sync").json()
    assert "mine-on-orders-sync" not in {row["run_id"] for row in body["results"]}


def test_the_first_seed_attaches_its_results_to_its_own_runs():
    seed_demo()
    demo = Organization.objects.get(slug="demo")
    results = CheckResult.objects.for_organization(demo).filter(result_id__startswith="demo-")
    assert results.count() == 6  # 3 checks on the two newest demo orders_sync runs
    assert set(results.values_list("run__attributes__seeded", flat=True)) == {True}
