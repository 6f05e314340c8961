"""The operator admin: edge counts without N+1, edges by pipeline, stored events by run."""

import uuid

import pytest

from lineage.models import OpenLineageEvent
from tests.lineage.factories import make_dataset, make_edge, make_pipeline


@pytest.fixture
def graph(org_a):
    loader, report = make_pipeline(org_a, "loader"), make_pipeline(org_a, "report")
    raw, clean, mart = (make_dataset(org_a, name) for name in ("raw", "clean", "mart"))
    make_edge(org_a, raw, clean, loader)
    make_edge(org_a, raw, mart, loader)
    make_edge(org_a, clean, mart, report)
    return loader, report


def _rows(content: bytes) -> str:
    return content.decode()


def test_datasets_list_shows_upstream_and_downstream_counts(admin_client, org_a, graph):
    response = admin_client.get("/admin/lineage/dataset/")
    assert response.status_code == 200
    rows = {obj.dataset_id: (obj.upstream_edges, obj.downstream_edges) for obj in response.context["cl"].result_list}
    assert rows == {"raw": (0, 2), "clean": (1, 1), "mart": (2, 0)}
    assert 'class="field-upstream"' in _rows(response.content)


def test_datasets_list_query_count_does_not_grow(admin_client, org_a, graph, django_assert_max_num_queries):
    admin_client.get("/admin/lineage/dataset/")
    with django_assert_max_num_queries(12) as few:
        admin_client.get("/admin/lineage/dataset/")
    loader = graph[0]
    for i in range(30):
        make_edge(org_a, make_dataset(org_a, f"extra{i}"), make_dataset(org_a, f"extra_out{i}"), loader)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get("/admin/lineage/dataset/")


def test_edges_filter_by_pipeline_name(admin_client, graph):
    response = admin_client.get("/admin/lineage/lineageedge/", {"pipeline_name": "report"})
    assert response.status_code == 200
    edges = list(response.context["cl"].result_list)
    assert [(e.source.dataset_id, e.target.dataset_id) for e in edges] == [("clean", "mart")]
    assert 'name="pipeline_name"' in _rows(response.content)

    by_id = admin_client.get("/admin/lineage/lineageedge/", {"pipeline__id__exact": graph[0].pk})
    assert len(by_id.context["cl"].result_list) == 2


def test_events_are_browsable_by_run_and_read_only(admin_client, org_a):
    run_id = str(uuid.uuid4())
    for event_type, minute in (("START", 0), ("COMPLETE", 5)):
        OpenLineageEvent.objects.create(
            organization=org_a,
            run_id=run_id,
            event_type=event_type,
            event_time=f"2026-11-26T06:0{minute}:00Z",
            job_namespace="airflow",
            job_name="nightly",
            payload={"eventType": event_type},
        )
    OpenLineageEvent.objects.create(
        organization=org_a,
        run_id="other",
        event_type="START",
        event_time="2026-11-26T06:00:00Z",
        job_namespace="airflow",
        job_name="nightly",
        payload={},
    )

    listing = admin_client.get("/admin/lineage/openlineageevent/", {"run_id": run_id, "o": "1"})
    assert [e.event_type for e in listing.context["cl"].result_list] == ["START", "COMPLETE"]
    searched = admin_client.get("/admin/lineage/openlineageevent/", {"q": run_id})
    assert len(searched.context["cl"].result_list) == 2

    event = OpenLineageEvent.objects.unscoped().get(run_id=run_id, event_type="COMPLETE")
    detail = admin_client.get(f"/admin/lineage/openlineageevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert "&quot;eventType&quot;: &quot;COMPLETE&quot;" in _rows(detail.content)
    assert admin_client.get("/admin/lineage/openlineageevent/add/").status_code == 403
