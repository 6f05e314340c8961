"""Plan usage after the counted rows moved to their owning apps (no model looked up by name): what an
organization sees on /organizations/me is what each app counts, and only its own rows."""

import pytest

from orgs import limits
from orgs.models import Role
from tests.lineage.test_ingest_api import event, post
from workflows.usage import counted_rows


def pipeline_json(name, version="1"):
    return {"name": name, "version": version, "sources": [{"id": "raw"}], "targets": [{"id": "out", "inputs": "raw"}]}


def usage(client):
    response = client.get("/api/v1/organizations/me")
    assert response.status_code == 200
    return response.json()["usage"]


def test_each_counted_metric_counts_the_live_rows_of_its_app(make_org, make_client):
    org, other = make_org("counted"), make_org("other")
    client, other_client = make_client(org, Role.ADMIN), make_client(other, Role.ADMIN)
    keys_before = usage(client)["api_keys"]  # the client's own key

    assert client.post("/api/v1/pipelines/", pipeline_json("orders"), format="json").status_code == 201
    assert client.post("/api/v1/pipelines/", pipeline_json("orders", "2"), format="json").status_code == 201
    # A job only reported by OpenLineage is an external pipeline: it does not count until registered.
    assert post(client, event(job="reported_only")).status_code == 201
    connection = {"id": "wh", "type": "sqlite", "config": {"path": "wh.sqlite3"}}
    assert client.post("/api/v1/connections/", connection, format="json").status_code == 201
    created = client.post("/api/v1/api-keys/", {"name": "ci"}, format="json").json()
    client.post(f"/api/v1/api-keys/{created['id']}/revoke/")
    other_client.post("/api/v1/pipelines/", pipeline_json("theirs"), format="json")

    counts = usage(client)
    assert counts["pipelines"] == 1
    assert counts["api_keys"] == keys_before
    assert counts["connections"] == 1
    assert counts["openlineage_events_per_month"] == 1
    assert usage(other_client)["pipelines"] == 1

    # Registering the reported job makes it count.
    assert client.post("/api/v1/pipelines/", pipeline_json("reported_only"), format="json").status_code == 201
    assert usage(client)["pipelines"] == 2


def test_usage_refuses_a_missing_metric(org_a):
    """A counted metric nobody passes rows for would silently read 0: it is a programming error instead."""
    rows = counted_rows(org_a)
    del rows["connections"]
    with pytest.raises(ValueError, match="connections"):
        limits.current_usage(org_a, rows)
