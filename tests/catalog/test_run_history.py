"""GET /api/v1/pipelines/{name}/runs: newest first, filters, cursor pages, constant queries."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Run

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 1, tzinfo=UTC)
STATUSES = ["success", "failed", "success", "cancelled", "running"]


@pytest.fixture
def history(org_a, register, example_spec):
    """25 runs of orders_sync, one a day, created in order (run-00 oldest)."""
    pipeline = register(org_a, example_spec).pipeline
    Run.objects.bulk_create(
        Run(
            organization=org_a,
            pipeline=pipeline,
            pipeline_version=pipeline.current_version,
            run_id=f"run-{index:02d}",
            status=STATUSES[index % len(STATUSES)],
            started_at=T0 + timedelta(days=index),
            created_at=T0 + timedelta(days=index),
        )
        for index in range(25)
    )
    return pipeline


def run_ids(response):
    assert response.status_code == 200, response.content
    return [run["run_id"] for run in response.json()["results"]]


def test_newest_first_with_and_without_slash(client_a, history):
    for path in ["/api/v1/pipelines/orders_sync/runs", "/api/v1/pipelines/orders_sync/runs/"]:
        ids = run_ids(client_a.get(path))
        assert ids == [f"run-{index:02d}" for index in range(24, -1, -1)]


def test_cursor_pages_walk_the_whole_history_once(client_a, history):
    seen, url = [], "/api/v1/pipelines/orders_sync/runs?page_size=7"
    while url:
        page = client_a.get(url).json()
        assert "count" not in page  # history is never counted
        seen += [run["run_id"] for run in page["results"]]
        url = page["next"]
    assert seen == [f"run-{index:02d}" for index in range(24, -1, -1)]


def test_a_new_run_does_not_shift_the_next_page(client_a, history, org_a):
    first = client_a.get("/api/v1/pipelines/orders_sync/runs?page_size=5").json()
    Run.objects.create(organization=org_a, pipeline=history, run_id="brand-new", status="running")
    assert run_ids(client_a.get(first["next"]))[0] == "run-19"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=failed", [21, 16, 11, 6, 1]),
        ("status=failed&status=cancelled", [23, 21, 18, 16, 13, 11, 8, 6, 3, 1]),
        ("started_after=2025-06-21T00:00:00Z", [24, 23, 22, 21, 20]),
        ("started_before=2025-06-03T00:00:00Z", [1, 0]),
        ("status=success&started_after=2025-06-10T00:00:00Z&started_before=2025-06-16T00:00:00Z", [12, 10]),
    ],
)
def test_filters(client_a, history, query, expected):
    assert run_ids(client_a.get(f"/api/v1/pipelines/orders_sync/runs?{query}")) == [
        f"run-{index:02d}" for index in expected
    ]


@pytest.mark.parametrize("query", ["status=paused", "started_after=last-week", "started_before=2025-13-01"])
def test_bad_filters_are_400_with_field_messages(client_a, history, query):
    response = client_a.get(f"/api/v1/pipelines/orders_sync/runs?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_only_this_pipelines_runs(client_a, history, org_a, register):
    from tests.catalog.conftest import small_spec

    other = register(org_a, small_spec("other")).pipeline
    Run.objects.create(organization=org_a, pipeline=other, run_id="other-run", status="success")
    assert "other-run" not in run_ids(client_a.get("/api/v1/pipelines/orders_sync/runs?page_size=100"))
    assert run_ids(client_a.get("/api/v1/pipelines/other/runs")) == ["other-run"]


def test_constant_number_of_queries_whatever_the_page_size(client_a, history, django_assert_num_queries):
    client_a.get("/api/v1/pipelines/orders_sync/runs")
    with django_assert_num_queries(3) as small:  # key lookup, pipeline, page of runs (+pipeline, version)
        client_a.get("/api/v1/pipelines/orders_sync/runs?page_size=2")
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(run_ids(client_a.get("/api/v1/pipelines/orders_sync/runs?page_size=25"))) == 25
    with django_assert_num_queries(len(small.captured_queries)):
        client_a.get("/api/v1/pipelines/orders_sync/runs?page_size=25&status=failed&started_after=2025-06-02T00:00Z")


def test_other_organization_gets_404(client_b, history, org_b, register, example_spec):
    assert client_b.get("/api/v1/pipelines/orders_sync/runs").status_code == 404
    register(org_b, example_spec)  # B's own orders_sync has no runs
    assert run_ids(client_b.get("/api/v1/pipelines/orders_sync/runs")) == []
