"""POST /api/v1/lineage/batch and /api/v1/runs/batch: per-event statuses, the good events kept,
bad bodies refused as a whole with a 4xx, plan limits and the throttle counting events."""

import gzip
import json
import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import Run
from lineage.models import LineageEdge, OpenLineageEvent
from orgs.models import Plan, Role, UsageCounter
from orgs.throttling import PrincipalRateThrottle
from tests.lineage.factories import make_pipeline


def ol_event(run_id=None, event_type="START", when="2026-11-26T06:00:00Z", job="nightly", source="raw.a", **extra):
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": "https://example.com/replay",
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": "replay", "name": job},
        "inputs": [{"namespace": "wh", "name": source}],
        "outputs": [{"namespace": "wh", "name": "mart.b"}],
        **extra,
    }


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org_a, Role.WRITE)}")
    return api


def post_batch(client, body: bytes, content_type="application/json", path="/api/v1/lineage/batch", **headers):
    return client.post(path, data=body, content_type=content_type, **headers)


def test_a_json_array_is_applied_event_by_event_keeping_the_good_ones(client, org_a):
    run_id = str(uuid.uuid4())
    start = ol_event(run_id)
    events = [
        start,
        ol_event(run_id, "COMPLETE", "2026-11-26T06:05:00Z"),
        start,  # a redelivery inside the batch
        {"eventType": "START", "producer": "p", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}},
        ol_event(run_id, "FAIL", "2026-11-26T06:06:00Z"),  # contradicts the COMPLETE: 409 for this one only
        ol_event(source="raw.c"),
    ]

    response = post_batch(client, json.dumps(events).encode())

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["refused"]) == (3, 1, 2)
    statuses = [item["status"] for item in body["events"]]
    assert statuses == ["accepted", "accepted", "duplicate", "refused", "refused", "accepted"]
    assert "eventTime" in body["events"][3]["reason"]["fields"]
    assert body["events"][4]["reason"]["code"] == "run_finished"
    assert Run.objects.unscoped().get(organization=org_a, run_id=run_id).status == "success"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 3
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 2
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month").value == 3


def test_ndjson_with_gzip_is_accepted_and_an_unreadable_line_refused_alone(client, org_a):
    lines = [json.dumps(ol_event()), "{not json", "", json.dumps(ol_event())]
    body = gzip.compress("\n".join(lines).encode())

    response = post_batch(client, body, "application/x-ndjson", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert response.json()["events"][1]["reason"]["code"] == "parse_error"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 2


BAD_BODIES = {
    "not JSON": (b"{not json", "application/json", 400),
    "an object, not an array": (json.dumps(ol_event()).encode(), "application/json", 400),
    "empty array": (b"[]", "application/json", 400),
    "more than 1,000 events": (json.dumps([ol_event()] * 1001).encode(), "application/json", 400),
    "unsupported media type": (b"<events/>", "application/xml", 415),
}


@pytest.mark.parametrize("raw, content_type, expected", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_refused_whole_with_a_4xx(client, org_a, raw, content_type, expected):
    response = post_batch(client, raw, content_type)

    assert response.status_code == expected, response.content[:300]
    assert not OpenLineageEvent.objects.unscoped().exists()


def test_more_than_1000_events_names_the_limit(client):
    response = post_batch(client, gzip.compress(json.dumps([ol_event()] * 1001).encode()), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400 and "1000" in response.json()["events"][0]


def test_a_gzip_bomb_is_413_before_it_inflates_past_the_batch_cap(client, settings):
    settings.DATAXPIPE_MAX_BATCH_BYTES = 2 * 1024 * 1024
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < settings.DATAXPIPE_MAX_BODY_BYTES

    response = post_batch(client, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert not OpenLineageEvent.objects.unscoped().exists()


def test_the_plan_counts_events_not_requests(client, org_a, settings):
    org_a.plan = Plan.FREE
    org_a.save()
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"]}}
    settings.PLAN_LIMITS["free"]["openlineage_events_per_month"] = 3

    response = post_batch(client, json.dumps([ol_event() for _ in range(5)]).encode())

    body = response.json()
    assert response.status_code == 200
    assert [item["status"] for item in body["events"]] == ["accepted"] * 3 + ["refused"] * 2
    assert body["events"][3]["reason"]["code"] == "plan_limit_reached"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 3


def test_a_start_does_not_also_spend_the_run_quota(client, org_a, settings):
    org_a.plan = Plan.FREE
    org_a.save()
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], "runs_per_month": 1}}

    response = post_batch(client, json.dumps([ol_event() for _ in range(3)]).encode())

    assert response.json()["accepted"] == 3
    assert not UsageCounter.objects.unscoped().filter(organization=org_a, metric="runs_per_month", value__gt=0).exists()


def test_the_throttle_counts_a_batchs_events(client, settings):
    cache.clear()
    settings.DATAXPIPE_OPENLINEAGE_THROTTLE_RATE = "10/min"

    first = post_batch(client, json.dumps([ol_event() for _ in range(8)]).encode())
    second = post_batch(client, json.dumps([ol_event() for _ in range(3)]).encode())

    assert first.status_code == 200
    assert second.status_code == 429 and "Retry-After" in second.headers
    cache.clear()


def test_single_events_are_not_capped_at_the_request_rate(client, monkeypatch):
    """The per-key request budget (DATAXPIPE_THROTTLE_RATE) does not apply to OpenLineage events."""
    cache.clear()
    # The rate DRF read at import; monkeypatch puts it back, so later tests keep the real budget.
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    statuses = {client.post("/api/v1/lineage", ol_event(), format="json").status_code for _ in range(4)}
    assert statuses == {201}
    cache.clear()


def test_another_organizations_pipeline_and_run_stay_untouched(make_key, org_a, org_b):
    make_pipeline(org_a, "orders_sync")
    client_b = APIClient()
    client_b.credentials(HTTP_X_API_KEY=make_key(org_b, Role.WRITE))
    run_a = str(uuid.uuid4())
    APIClient().credentials()
    client_a = APIClient()
    client_a.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    post_batch(client_a, json.dumps([ol_event(run_a, job="orders_sync")]).encode())

    response = post_batch(
        client_b, json.dumps([ol_event(run_a, "COMPLETE", "2026-11-26T06:05:00Z", job="orders_sync")]).encode()
    )

    assert response.json()["accepted"] == 1
    assert Run.objects.unscoped().get(organization=org_a, run_id=run_a).status == "running"
    assert Run.objects.unscoped().get(organization=org_b, run_id=run_a).pipeline.organization == org_b


def test_runs_batch_applies_run_events_with_per_event_statuses(client, org_a, org_b):
    make_pipeline(org_a, "orders_sync")
    make_pipeline(org_b, "b_only")
    events = [
        {"pipeline_id": "orders_sync", "status": "running", "run_id": "r-1"},
        {"pipeline_id": "orders_sync", "status": "running", "run_id": "r-1"},
        {"pipeline_id": "orders_sync", "status": "success", "run_id": "r-1"},
        {"pipeline_id": "b_only", "status": "running", "run_id": "r-2"},
        {"pipeline_id": "orders_sync", "status": "failed", "run_id": "r-1"},
        "not an object",
    ]

    response = post_batch(client, json.dumps(events).encode(), path="/api/v1/runs/batch")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["status"] for item in body["events"]] == [
        "accepted",
        "duplicate",
        "accepted",
        "refused",
        "refused",
        "refused",
    ]
    assert "pipeline_id" in body["events"][3]["reason"]["fields"]
    assert body["events"][4]["reason"]["code"] == "run_finished"
    assert body["events"][2]["status"] == "accepted" and body["events"][2]["run"]["status"] == "success"
    assert Run.objects.unscoped().get(organization=org_a, run_id="r-1").status == "success"
    assert not Run.objects.unscoped().filter(run_id="r-2").exists()


def test_runs_batch_counts_runs_against_the_plan(client, org_a, settings):
    org_a.plan = Plan.FREE
    org_a.save()
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], "runs_per_month": 2}}
    make_pipeline(org_a, "orders_sync")
    events = [{"pipeline_id": "orders_sync", "status": "running", "run_id": f"r-{i}"} for i in range(3)]

    body = post_batch(client, json.dumps(events).encode(), path="/api/v1/runs/batch").json()

    assert [item["status"] for item in body["events"]] == ["accepted", "accepted", "refused"]
    assert body["events"][2]["reason"]["code"] == "plan_limit_reached"


def _state(organization):
    runs = sorted(
        (r.run_id, r.pipeline.name, r.status, r.started_at, r.finished_at, r.attributes)
        for r in Run.objects.unscoped().filter(organization=organization).select_related("pipeline")
    )
    edges = sorted(
        (e.source.dataset_id, e.target.dataset_id, e.pipeline.name)
        for e in LineageEdge.objects.unscoped()
        .filter(organization=organization)
        .select_related("source", "target", "pipeline")
    )
    events = sorted(
        (e.kind, e.run_id, e.event_type, e.event_time)
        for e in OpenLineageEvent.objects.unscoped().filter(organization=organization)
    )
    usage = UsageCounter.objects.unscoped().get(organization=organization, metric="openlineage_events_per_month").value
    return runs, edges, events, usage


def test_a_batch_ends_where_the_same_events_posted_one_by_one_end(make_key, org_a, org_b):
    """The set-based path (new runs, replays, static events) matches the single-event path exactly."""
    runs = [str(uuid.uuid4()) for _ in range(4)]
    events = []
    for n, run_id in enumerate(runs):
        events.append(ol_event(run_id, "START", f"2026-11-26T06:0{n}:00Z", job=f"job_{n % 2}", source=f"raw.{n}"))
    for n, run_id in enumerate(runs[:3]):
        events.append(ol_event(run_id, "RUNNING", f"2026-11-26T06:1{n}:00Z", job=f"job_{n % 2}", source=f"raw.{n}"))
        events.append(ol_event(run_id, "COMPLETE", f"2026-11-26T06:2{n}:00Z", job=f"job_{n % 2}", source=f"raw.{n}"))
    events.append(events[0])  # a redelivery
    events.append(
        {
            "eventTime": "2026-11-26T06:00:00Z",
            "producer": "p",
            "job": {"namespace": "static", "name": "view"},
            "inputs": [{"namespace": "wh", "name": "mart.b"}],
            "outputs": [{"namespace": "wh", "name": "mart.view"}],
        }
    )
    one_by_one = APIClient()
    one_by_one.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    answers = [one_by_one.post("/api/v1/lineage", e, format="json").json() for e in events]
    batch = APIClient()
    batch.credentials(HTTP_X_API_KEY=make_key(org_b, Role.WRITE))

    response = batch.post("/api/v1/lineage/batch", events, format="json").json()

    assert [item["status"] for item in response["events"]] == [a["status"] for a in answers]
    for item, single in zip(response["events"], answers, strict=True):
        assert {k: item.get(k) for k in single} == single | {"status": item["status"]}
    assert _state(org_a) == _state(org_b)
