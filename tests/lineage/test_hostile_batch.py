"""One hostile event among good ones in POST /api/v1/lineage/batch and /api/v1/runs/batch: the hostile
one refused with its reason, the good ones kept, never a 500, nothing of the hostile one written."""

import gzip
import json
import uuid

import pytest
from rest_framework.test import APIClient

from lineage.models import OpenLineageEvent
from orgs.models import Role, UsageCounter
from tests.lineage.factories import make_pipeline
from tests.lineage.test_batch_api import ol_event
from tests.lineage.test_batch_api import post_batch as _post


@pytest.fixture
def client(make_key, org_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org_a, Role.WRITE)}")
    return api


def _events(org):
    return OpenLineageEvent.objects.unscoped().filter(organization=org).count()


def _usage(org):
    row = UsageCounter.objects.unscoped().filter(organization=org, metric="openlineage_events_per_month").first()
    return row.value if row else 0


# Raw JSON text of a hostile event, spliced between two good ones (json.dumps cannot write some of these).
HOSTILE = {
    "NUL in a facet value": json.dumps(ol_event(source="raw.x")).replace('"raw.x"', '"raw\\u0000x"'),
    "NUL in the job name": json.dumps(ol_event(job="jobX")).replace('"jobX"', '"job\\u0000X"'),
    "NUL in a facet key": json.dumps(ol_event(run={"runId": "r", "facets": {"k": 1}})).replace('"k"', '"k\\u0000"'),
    "lone surrogate in a value": json.dumps(ol_event(source="raw.x")).replace('"raw.x"', '"raw\\ud800x"'),
    "lone surrogate in the producer": json.dumps(ol_event()).replace('"https://example.com/replay"', '"\\udfff"'),
    "1e999 in a facet": json.dumps(ol_event(run={"runId": "r2", "facets": {"n": 1}})).replace('"n": 1', '"n": 1e999'),
    "-1e999 in a dataset facet": json.dumps(
        ol_event(inputs=[{"namespace": "wh", "name": "raw.y", "facets": {"stats": {"rows": 7}}}])
    ).replace('"rows": 7', '"rows": -1e999'),
}


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_one_hostile_event_in_a_json_array_is_refused_alone(client, org_a, hostile):
    body = "[" + json.dumps(ol_event(source="raw.1")) + "," + hostile + "," + json.dumps(ol_event(source="raw.2")) + "]"

    response = _post(client, body.encode())

    assert response.status_code == 200, response.content[:500]
    statuses = [item["status"] for item in response.json()["events"]]
    assert statuses == ["accepted", "refused", "accepted"]
    assert response.json()["events"][1]["reason"]["code"]
    assert _events(org_a) == 2
    assert _usage(org_a) == 2


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_one_hostile_ndjson_line_is_refused_alone(client, org_a, hostile):
    body = "\n".join([json.dumps(ol_event(source="raw.1")), hostile, json.dumps(ol_event(source="raw.2"))])

    response = _post(client, gzip.compress(body.encode()), "application/x-ndjson", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200, response.content[:500]
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert _events(org_a) == 2


def test_nan_in_an_ndjson_line_is_refused_alone(client, org_a):
    hostile = json.dumps(ol_event(run={"runId": "r3", "facets": {"n": 1}})).replace('"n": 1', '"n": NaN')
    body = "\n".join([json.dumps(ol_event(source="raw.1")), hostile, json.dumps(ol_event(source="raw.2"))])

    response = _post(client, body.encode(), "application/x-ndjson")

    assert response.status_code == 200, response.content[:500]
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert _events(org_a) == 2


def test_an_invalid_utf8_ndjson_line_is_refused_alone(client, org_a):
    body = b"\n".join(
        [json.dumps(ol_event(source="raw.1")).encode(), b'{"bad": "\xff\xfe"}', json.dumps(ol_event()).encode()]
    )

    response = _post(client, body, "application/x-ndjson")

    assert response.status_code == 200, response.content[:500]
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]
    assert response.json()["events"][1]["reason"]["code"] == "parse_error"
    assert _events(org_a) == 2


def test_a_nul_in_a_runs_batch_event_is_refused_alone(client, org_a):
    make_pipeline(org_a, "orders_sync")
    good = [{"pipeline_id": "orders_sync", "status": "running", "run_id": f"r-{i}"} for i in range(2)]
    hostile = '{"pipeline_id": "orders_sync", "status": "running", "run_id": "r-\\u0000"}'
    body = "[" + json.dumps(good[0]) + "," + hostile + "," + json.dumps(good[1]) + "]"

    response = _post(client, body.encode(), path="/api/v1/runs/batch")

    assert response.status_code == 200, response.content[:500]
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "refused", "accepted"]


def test_a_line_separator_inside_an_ndjson_string_does_not_split_the_event(client, org_a):
    event = ol_event(source="raw.\u2028sep\u0085x\u000cy")
    body = json.dumps(event, ensure_ascii=False) + "\r\n" + json.dumps(ol_event())

    response = _post(client, body.encode(), "application/x-ndjson")

    assert response.status_code == 200, response.content[:500]
    assert [item["status"] for item in response.json()["events"]] == ["accepted", "accepted"]


def test_an_event_over_the_event_size_cap_is_refused_alone_in_a_batch(client, org_a, settings):
    settings.DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = 1024 * 1024
    huge = ol_event(run={"runId": "big", "facets": {"blob": {"text": "x" * (2 * 1024 * 1024)}}})
    body = gzip.compress(json.dumps([ol_event(source="raw.1"), huge, ol_event(source="raw.2")]).encode())

    response = _post(client, body, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200, response.content[:500]
    events = response.json()["events"]
    assert [item["status"] for item in events] == ["accepted", "refused", "accepted"]
    assert "DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES" in str(events[1]["reason"])
    assert _events(org_a) == 2


def test_a_literal_backslash_u0000_text_is_not_a_nul(client, org_a):
    response = _post(client, json.dumps([ol_event(source="raw\\u0000x")]).encode())

    assert response.json()["accepted"] == 1


def test_a_nul_in_a_single_event_is_a_400_naming_it(client, org_a):
    body = json.dumps(ol_event(source="raw.x")).replace('"raw.x"', '"raw\\u0000x"')

    response = client.post("/api/v1/lineage", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "NUL" in str(response.json())
    assert _events(org_a) == 0


def _deep_event():
    event = ol_event(run={"runId": "deep", "facets": {"nest": "x"}})
    return json.dumps(event).replace('"nest": "x"', '"nest": ' + "[" * 200 + "]" * 200)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("path", ["/api/v1/lineage/batch", "/api/v1/runs/batch", "/api/v1/runs/batch/"])
def test_a_deeply_nested_ndjson_line_is_refused_alone(client, org_a, gzipped, path):
    make_pipeline(org_a, "orders_sync")
    good = (
        json.dumps(ol_event())
        if "lineage" in path
        else json.dumps({"pipeline_id": "orders_sync", "status": "running", "run_id": str(uuid.uuid4())})
    )
    body = "\n".join([good, _deep_event()]).encode()
    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if gzipped else {}

    response = _post(client, gzip.compress(body) if gzipped else body, "application/x-ndjson", path=path, **headers)

    assert response.status_code == 200, response.content[:300]
    events = response.json()["events"]
    assert events[1]["status"] == "refused" and "nested too deeply" in events[1]["reason"]["detail"]
    assert events[0]["status"] == "accepted"


def test_a_deeply_nested_json_body_elsewhere_is_still_refused_whole(client):
    body = "[" + _deep_event() + "]"
    for path, content_type in (
        ("/api/v1/pipelines/", "application/json"),
        ("/api/v1/pipelines/", "application/x-ndjson"),
        ("/api/v1/lineage/batch", "application/json"),  # an array is one JSON value: refused whole
        ("/api/v1/lineage/batch/x", "application/x-ndjson"),
    ):
        response = client.post(path, data=body, content_type=content_type)
        assert response.status_code == 400, (path, response.content[:300])
        assert response.json()["code"] == "json_too_deep"
