"""lineage/naming.py and the connection it reads, under hostile input: digits that are not ASCII, names
that try to reach another organization's datasets by physical name, case and percent-encoding."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from lineage import naming
from lineage.models import Dataset, LineageEdge
from orgs.models import Role


@pytest.mark.parametrize("port", ["²", "٣٤٥", "\uff15\uff14\uff13\uff12"])
def test_a_port_of_non_ascii_digits_gives_no_port_not_an_error(port):
    for config in ({"dsn": f"host=db dbname=x port={port}"}, {"host": "db", "database": "x", "port": port}):
        assert naming.connection_physical_name("postgres", config, "public.t") == "postgres://db:5432/x.public.t"


@pytest.mark.parametrize("port", ["²", "٣٤٥"])
def test_a_connection_port_of_non_ascii_digits_is_a_400(make_key, org_a, port):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_key(org_a, Role.ADMIN))
    for config in (
        {"dsn": f"host=db.example.com port={port} dbname=x user=u"},
        {"dsn": f"postgres://u@db.example.com:{port}/x"},
    ):
        response = client.post(
            "/api/v1/connections/", {"id": "pg", "type": "postgres", "config": config}, format="json"
        )
        assert response.status_code == 400, response.content[:300]


def event(namespace, name, job="j", symlink=None):
    facets = {}
    if symlink:
        facets["symlinks"] = {"identifiers": [{"namespace": symlink[0], "name": symlink[1], "type": "TABLE"}]}
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-26T06:00:00Z",
        "producer": "p",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "n", "name": job},
        "inputs": [{"namespace": "wh", "name": "raw.in"}],
        "outputs": [{"namespace": namespace, "name": name, "facets": facets}],
    }


@pytest.mark.parametrize(
    "namespace, name, symlink",
    [
        ("postgres://DB.example.com:5432", "Shop.Public.Orders", None),
        ("postgresql://db.example.com", "shop.public.orders", None),
        ("s3://bucket", "landing/orders", ("postgres://db.example.com:5432", "shop.public.orders")),
        ("postgres://db.example.com%3A5432", "shop.public.orders", None),
    ],
)
def test_a_physical_name_never_reaches_another_organizations_dataset(make_key, org_a, org_b, namespace, name, symlink):
    theirs = Dataset.objects.create(
        organization=org_b,
        namespace="postgres://db.example.com:5432",
        dataset_id="shop.public.orders",
        physical_name="postgres://db.example.com:5432/shop.public.orders",
        physical_digest=naming.digest("postgres://db.example.com:5432/shop.public.orders"),
    )
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))

    for path, body in (("/api/v1/lineage", event(namespace, name, symlink=symlink)),):
        response = client.post(path, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content[:300]
    single = client.post(
        "/api/v1/lineage/batch",
        data=json.dumps([event(namespace, name, "k", symlink)]),
        content_type="application/json",
    )
    assert single.json()["accepted"] == 1

    assert not LineageEdge.objects.unscoped().filter(target=theirs).exists()
    assert not LineageEdge.objects.unscoped().filter(organization=org_a, target__organization=org_b).exists()
    theirs.refresh_from_db()
    assert (theirs.namespace, theirs.dataset_id, theirs.schema_fields) == (
        "postgres://db.example.com:5432",
        "shop.public.orders",
        [],
    )
    lookup = client.get("/api/v1/lineage/shop.public.orders", {"namespace": "postgres://db.example.com:5432"})
    assert lookup.status_code in (200, 404)
    if lookup.status_code == 200:
        assert lookup.json()["dataset"]["key"] != theirs.pk
    other = client.get(f"/api/v1/lineage/{theirs.dataset_id}")
    assert other.status_code == 404 or other.json()["dataset"]["key"] != theirs.pk


def test_a_long_symlink_identifier_is_not_kept_in_the_physical_name_cache(make_key, org_a):
    """A symlink's namespace and name have no cap but the event's size: the process-wide cache of
    physical names must not keep a tenant's megabytes alive after the request."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_key(org_a, Role.WRITE))
    cache = naming._cached_physical_name
    sizes = []
    for filler in "hx":
        body = event("s3://bucket", "landing/orders", symlink=("postgres://" + filler * 200_000, "shop.public.o"))
        body["outputs"][0]["facets"]["symlinks"]["identifiers"].append(
            {"namespace": "s3://bucket", "name": filler * 200_000, "type": "TABLE"}
        )
        response = client.post("/api/v1/lineage", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content[:300]
        sizes.append(cache.cache_info().currsize)

    assert sizes[1] == sizes[0]  # the second event's long names took no room
    assert naming.physical_name("s3://bucket", "x" * 2000) == "s3://bucket/" + "x" * 2000
