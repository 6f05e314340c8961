"""POST /api/v1/lineage: lifecycle mapping, idempotency, bad input, limits, tenancy."""

import copy
import gzip
import json
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from catalog.models import Pipeline, Run
from checks.models import CheckResult
from lineage.models import Dataset, LineageEdge, OpenLineageEvent
from orgs.models import Plan, Role, UsageCounter
from tests.lineage.factories import make_pipeline

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def event(event_type="START", run_id=None, when="2026-11-26T06:00:00Z", job="nightly_load", **extra):
    body = {
        "eventType": event_type,
        "eventTime": when,
        "producer": "https://example.com/producer",
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "airflow", "name": job, "facets": {}},
        "inputs": [{"namespace": "pg", "name": "public.src"}],
        "outputs": [{"namespace": "bq", "name": "mart.dst"}],
    }
    body.update(extra)
    return body


@pytest.fixture
def bearer_client(make_key, org_a):
    def make(role=Role.WRITE, organization=None):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(organization or org_a, role)}")
        return client

    return make


def post(client, body, path="/api/v1/lineage", **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def test_accepts_with_and_without_trailing_slash(bearer_client, org_a):
    client = bearer_client()
    first = post(client, event())
    second = post(client, event(), path="/api/v1/lineage/")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["status"] == "accepted" and first.json()["run_status"] == "running"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 2


def test_event_types_drive_the_run_lifecycle(bearer_client, org_a):
    client = bearer_client()
    for event_type, expected in (("COMPLETE", "success"), ("FAIL", "failed"), ("ABORT", "cancelled")):
        run_id = str(uuid.uuid4())
        assert post(client, event("START", run_id)).status_code == 201
        assert post(client, event("RUNNING", run_id, when="2026-11-26T06:01:00Z")).status_code == 201
        assert post(client, event(event_type, run_id, when="2026-11-26T06:05:00Z")).status_code == 201
        assert Run.objects.unscoped().get(organization=org_a, run_id=run_id).status == expected


def test_out_of_order_events_do_not_corrupt_the_run(bearer_client, org_a):
    client = bearer_client()
    run_id = str(uuid.uuid4())
    assert post(client, event("COMPLETE", run_id, when="2026-11-26T06:09:00Z")).status_code == 201
    late_start = post(client, event("START", run_id, when="2026-11-26T06:00:00Z"))
    late_running = post(client, event("RUNNING", run_id, when="2026-11-26T06:04:00Z"))

    assert (late_start.status_code, late_running.status_code) == (201, 201)
    run = Run.objects.unscoped().get(organization=org_a, run_id=run_id)
    assert run.status == "success"
    assert run.started_at.isoformat() == "2026-11-26T06:00:00+00:00"
    assert run.finished_at.isoformat() == "2026-11-26T06:09:00+00:00"


def test_other_events_record_lineage_without_moving_the_run(bearer_client, org_a):
    client = bearer_client()
    run_id = str(uuid.uuid4())
    assert post(client, event("OTHER", run_id)).status_code == 201
    assert Run.objects.unscoped().get(run_id=run_id).status == "queued"
    post(client, event("START", run_id, when="2026-11-26T06:01:00Z"))
    assert post(client, event("OTHER", run_id, when="2026-11-26T06:02:00Z")).status_code == 201
    assert Run.objects.unscoped().get(run_id=run_id).status == "running"
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 1


def test_a_terminal_run_reported_differently_is_409_and_nothing_is_kept(bearer_client, org_a):
    client = bearer_client()
    run_id = str(uuid.uuid4())
    post(client, event("COMPLETE", run_id, when="2026-11-26T06:09:00Z"))
    extra_output = {"namespace": "bq", "name": "never_recorded"}
    conflicting = event("FAIL", run_id, when="2026-11-26T06:10:00Z", outputs=[extra_output])

    response = post(client, conflicting)

    assert response.status_code == 409
    assert Run.objects.unscoped().get(run_id=run_id).status == "success"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 1
    assert not Dataset.objects.unscoped().filter(dataset_id="never_recorded").exists()


def test_duplicates_answer_200_and_change_nothing(bearer_client, org_a):
    client = bearer_client()
    body = event("COMPLETE")
    assert post(client, body).status_code == 201
    again = post(client, body)
    same_instant_other_format = copy.deepcopy(body) | {"eventTime": "2026-11-26T07:00:00+01:00"}

    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert post(client, same_instant_other_format).status_code == 200
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 1
    assert UsageCounter.objects.unscoped().get(organization=org_a, metric="openlineage_events_per_month").value == 1


def test_job_maps_to_the_registered_pipeline_of_that_name(bearer_client, org_a):
    registered = make_pipeline(org_a, "orders_sync", version="3")
    response = post(bearer_client(), event("START", job="orders_sync"))

    assert response.status_code == 201
    run = Run.objects.unscoped().get(organization=org_a, run_id=json.loads(response.content)["run_id"])
    assert run.pipeline == registered and run.pipeline_version == registered.current_version
    assert Pipeline.objects.unscoped().filter(organization=org_a, name="orders_sync").count() == 1
    edge = LineageEdge.objects.unscoped().get(organization=org_a)
    assert (edge.pipeline, edge.pipeline_version) == (registered, registered.current_version)


def test_unknown_job_becomes_an_external_pipeline(bearer_client, org_a):
    post(bearer_client(), event("START", job="spark.adhoc_job"))
    pipeline = Pipeline.objects.unscoped().get(organization=org_a, name="spark.adhoc_job")
    assert pipeline.is_external and pipeline.current_version is None


def test_namespaces_are_kept_and_unknown_facets_accepted(bearer_client, org_a):
    body = event(
        "COMPLETE",
        inputs=[
            {"namespace": "pg", "name": "public.t", "facets": {"myCompany_custom": {"_producer": "x", "a": [1]}}},
            {"namespace": "mysql", "name": "public.t"},
        ],
        outputs=[{"namespace": "bq", "name": "mart.t", "outputFacets": {"outputStatistics": {"rowCount": 3}}}],
        run={"runId": str(uuid.uuid4()), "facets": {"someFutureFacet": {"deep": {"x": 1}}}},
    )
    response = post(bearer_client(), body)

    assert response.status_code == 201
    assert set(Dataset.objects.unscoped().filter(organization=org_a).values_list("namespace", "dataset_id")) == {
        ("pg", "public.t"),
        ("mysql", "public.t"),
        ("bq", "mart.t"),
    }
    stored = OpenLineageEvent.objects.unscoped().get(organization=org_a)
    assert stored.payload["run"]["facets"]["someFutureFacet"] == {"deep": {"x": 1}}


def test_an_assertion_reported_twice_in_a_run_keeps_one_latest_result(bearer_client, org_a):
    client = bearer_client()
    run_id = str(uuid.uuid4())

    def with_assertion(event_type, when, success):
        facet = {"assertions": [{"assertion": "row_count", "success": success}]}
        return event(
            event_type,
            run_id,
            when=when,
            inputs=[{"namespace": "pg", "name": "public.src", "inputFacets": {"dataQualityAssertions": facet}}],
        )

    post(client, with_assertion("START", "2026-11-26T06:00:00Z", True))
    post(client, with_assertion("COMPLETE", "2026-11-26T06:05:00Z", False))
    post(client, with_assertion("RUNNING", "2026-11-26T06:02:00Z", True))  # late: must not win

    result = CheckResult.objects.unscoped().get(organization=org_a)
    assert (result.check_id, result.status, result.run.run_id) == ("row_count", "fail", run_id)


BAD_EVENTS = {
    "missing run": ({"run": None}, "run"),
    "missing runId": ({"run": {"facets": {}}}, "run"),
    "missing job name": ({"job": {"namespace": "airflow"}}, "job"),
    "unknown eventType": ({"eventType": "EXPLODED"}, "eventType"),
    "bad eventTime": ({"eventTime": "yesterday"}, "eventTime"),
    "missing producer": ({"producer": None}, "producer"),
    "inputs not a list": ({"inputs": {"name": "x"}}, "inputs"),
    "dataset without name": ({"outputs": [{"namespace": "bq"}]}, "outputs"),
    "malformed assertions": (
        {"inputs": [{"namespace": "pg", "name": "t", "inputFacets": {"dataQualityAssertions": {"assertions": "x"}}}]},
        "inputs",
    ),
}


@pytest.mark.parametrize("change, field", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_never_valid_events_are_400_with_a_field_message(bearer_client, org_a, change, field):
    body = {k: v for k, v in (event() | change).items() if v is not None}

    response = post(bearer_client(), body)

    assert response.status_code == 400
    assert field in response.json()
    assert not OpenLineageEvent.objects.unscoped().exists() and not Run.objects.unscoped().exists()


def test_dataset_and_job_events_are_refused_clearly(bearer_client):
    body = {
        "eventTime": "2026-11-26T06:00:00Z",
        "producer": "p",
        "schemaURL": SCHEMA_URL,
        "dataset": {"namespace": "pg", "name": "t"},
    }
    response = post(bearer_client(), body)
    assert response.status_code == 400 and "run" in response.json()


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"42"])
def test_malformed_bodies_are_400(bearer_client, raw):
    response = bearer_client().post("/api/v1/lineage", data=raw, content_type="application/json")
    assert response.status_code == 400


def test_gzip_bodies_are_decompressed(bearer_client, org_a):
    compressed = gzip.compress(json.dumps(event()).encode())
    response = bearer_client().post(
        "/api/v1/lineage", data=compressed, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 201


def test_broken_gzip_is_400(bearer_client):
    truncated = gzip.compress(json.dumps(event()).encode())[:-12]
    for data in (b"definitely not gzip", truncated):
        response = bearer_client().post(
            "/api/v1/lineage", data=data, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
        )
        assert response.status_code == 400


@override_settings(DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES=64 * 1024)
def test_a_gzip_bomb_is_413(bearer_client):
    body = event() | {"padding": " " * (10 * 1024 * 1024)}
    bomb = gzip.compress(json.dumps(body).encode(), compresslevel=9)
    assert len(bomb) < 64 * 1024  # small on the wire, 10 MiB inflated

    response = bearer_client().post(
        "/api/v1/lineage", data=bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 413
    assert not OpenLineageEvent.objects.unscoped().exists()


def test_unsupported_content_encoding_is_415(bearer_client):
    response = bearer_client().post(
        "/api/v1/lineage", data=b"x", content_type="application/json", HTTP_CONTENT_ENCODING="br"
    )
    assert response.status_code == 415


def test_auth_and_role(bearer_client, org_a):
    assert post(APIClient(), event()).status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer dxp_notarealkey_butlongenough1234567890")
    assert post(bad, event()).status_code == 401
    assert post(bearer_client(Role.READ), event()).status_code == 403
    assert not OpenLineageEvent.objects.unscoped().exists()


def test_the_monthly_event_quota_is_enforced(bearer_client, make_org, settings):
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        Plan.FREE: {**settings.PLAN_LIMITS[Plan.FREE], "openlineage_events_per_month": 1},
    }
    small = make_org("small", plan=Plan.FREE)
    client = bearer_client(organization=small)
    assert post(client, event()).status_code == 201

    refused = post(client, event(job="another_job"))

    assert refused.status_code == 402
    assert refused.json()["limit"] == "openlineage_events_per_month"
    assert OpenLineageEvent.objects.unscoped().filter(organization=small).count() == 1
    assert not Pipeline.objects.unscoped().filter(organization=small, name="another_job").exists()


def test_another_organizations_run_id_is_a_separate_run(bearer_client, org_a, org_b):
    run_id = str(uuid.uuid4())
    post(bearer_client(), event("COMPLETE", run_id))
    response = post(bearer_client(organization=org_b), event("START", run_id, when="2026-11-26T07:00:00Z"))

    assert response.status_code == 201
    assert Run.objects.unscoped().get(organization=org_a, run_id=run_id).status == "success"
    assert Run.objects.unscoped().get(organization=org_b, run_id=run_id).status == "running"
    assert LineageEdge.objects.unscoped().filter(organization=org_a).count() == 1
    assert LineageEdge.objects.unscoped().filter(organization=org_b).count() == 1


def test_secrets_in_events_are_masked_before_anything_is_stored(bearer_client, org_a):
    body = event(
        "COMPLETE",
        inputs=[{"namespace": "postgres://etl:hunter2@db:5432", "name": "public.orders"}],
        run={
            "runId": str(uuid.uuid4()),
            "facets": {
                "environmentVariables": {
                    "environmentVariables": [
                        {"name": "TOKEN", "value": "Bearer abc.def.ghi"},
                        {"name": "KEY", "value": "dxp_abcdefghijklmnopqrstuvwxyz012345"},
                    ]
                }
            },
        },
    )

    assert post(bearer_client(), body).status_code == 201

    stored = json.dumps(OpenLineageEvent.objects.unscoped().get(organization=org_a).payload)
    assert "hunter2" not in stored and "abc.def.ghi" not in stored and "qrstuvwxyz012345" not in stored
    dataset = Dataset.objects.unscoped().get(organization=org_a, dataset_id="public.orders")
    assert "hunter2" not in dataset.namespace and dataset.namespace.startswith("postgres://etl:")


@pytest.mark.parametrize("levels", [200, 900, 990, 5000])
def test_deeply_nested_bodies_are_never_a_500(bearer_client, levels):
    nested = '{"a":' * levels + "1" + "}" * levels
    body = json.dumps(event())[:-1] + ', "x": ' + nested + "}"

    response = bearer_client().post("/api/v1/lineage", data=body, content_type="application/json")

    assert response.status_code in (201, 400)


def test_secrets_in_facet_keys_are_masked_too(bearer_client, org_a):
    body = event(run={"runId": str(uuid.uuid4()), "facets": {"postgres://etl:hunter2@db:5432/x": {"ok": True}}})

    assert post(bearer_client(), body).status_code == 201

    assert "hunter2" not in json.dumps(OpenLineageEvent.objects.unscoped().get(organization=org_a).payload)


def test_an_other_event_naming_another_jobs_run_is_409_and_nothing_is_kept(bearer_client, org_a):
    client = bearer_client()
    run_id = str(uuid.uuid4())
    post(client, event("START", run_id, job="first_job"))
    extra_output = {"namespace": "bq", "name": "never_recorded"}

    response = post(client, event("OTHER", run_id, job="second_job", outputs=[extra_output]))

    assert response.status_code == 409
    assert Run.objects.unscoped().get(run_id=run_id).pipeline.name == "first_job"
    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 1
    assert not Dataset.objects.unscoped().filter(dataset_id="never_recorded").exists()
