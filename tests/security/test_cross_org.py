"""Organization B's credentials against organization A's objects, on every route under /api/.

The routes come from the URL configuration itself (tests/security/routes.py); CROSS_ORG says how
to attack each (route, method). A route or method missing from the table fails
`test_every_api_route_is_covered` until someone teaches it, so a new endpoint cannot ship
without its tenancy check. Expectations:

- NotFound: org A's object in the path -> 404.
- BodyRefused(field): org A's id in the body, everything else B's own -> 400 naming the field.
- OwnScope: the request is valid for B and acts on B's own organization only (lists, creations
  under a natural key A also uses): it answers < 500 and the body names none of A's objects.

Every attempt, whatever the expectation, leaves org A's rows exactly as they were.
"""

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tests.security.routes import api_routes, write_methods
from tests.security.world import diff, example_spec, snapshot

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class NotFound:
    body: dict | None = None


@dataclass(frozen=True)
class BodyRefused:
    field: str
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OwnScope:
    body: dict | None = None
    # 503 is a clear refusal where a feature is not configured here (billing without Stripe).
    unavailable_ok: bool = False


def openlineage_event(job: str, dataset: str) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T06:00:00Z",
        "run": {"runId": "0190c7a2-5f1e-7c3a-9c1e-1d2c3b4a5f60"},
        "job": {"namespace": "airflow", "name": job},
        "inputs": [{"namespace": "postgres://pg", "name": dataset}],
        "outputs": [{"namespace": "postgres://pg", "name": "b_out"}],
        "producer": "https://github.com/OpenLineage/OpenLineage",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _on_b(**extra) -> dict:
    """An ad-hoc check on B's own connection, plus the foreign id under test."""
    return {"check_id": "adhoc", "connection_id": "wh-b", "sql": "SELECT COUNT(*) AS violations FROM t", **extra}


# (route key, method) -> the attempts org B makes (A's ids as named; the rest is B's own).
CROSS_ORG = {
    ("api/v1/organizations/me", "get"): [OwnScope()],
    ("api/v1/api-keys", "get"): [OwnScope()],
    ("api/v1/api-keys", "post"): [OwnScope({"name": "b-key", "role": "read"})],
    ("api/v1/api-keys/{pk}", "get"): [NotFound()],
    ("api/v1/api-keys/{pk}/revoke", "post"): [NotFound()],
    ("api/v1/pipelines", "get"): [OwnScope()],
    # A pipeline name is a natural key per organization: B registering "orders_sync" makes B's own.
    ("api/v1/pipelines", "post"): [OwnScope(example_spec(version="99"))],
    ("api/v1/pipelines/{name}", "get"): [NotFound()],
    ("api/v1/pipelines/{name}/runs", "get"): [NotFound()],
    ("api/v1/pipelines/{name}/versions", "get"): [NotFound()],
    ("api/v1/pipelines/{name}/versions/{version}", "get"): [NotFound()],
    ("api/v1/runs", "post"): [
        BodyRefused("pipeline_id", {"pipeline_id": "orders_sync", "status": "running"}),
        BodyRefused("pipeline_id", {"pipeline_id": "orders_sync", "status": "success", "run_id": "run-a-1"}),
        # B's own pipeline with A's run id: B's own new run, A's run untouched.
        OwnScope({"pipeline_id": "b_pipe", "status": "success", "run_id": "run-a-1"}),
    ],
    ("api/v1/runs/{run_id}", "get"): [NotFound()],
    # Each event of a batch resolves inside the caller's organization, like POST /runs: A's pipeline
    # name is refused per event (200 with the refusal; nothing of A's named), B's own are applied.
    ("api/v1/runs/batch", "post"): [
        OwnScope([{"pipeline_id": "orders_sync", "status": "success", "run_id": "run-a-1"}]),
        OwnScope([{"pipeline_id": "b_pipe", "status": "success", "run_id": "run-a-1"}]),
    ],
    ("api/v1/runs/{run_id}", "patch"): [
        NotFound({"status": "failed"}),
        NotFound({"status": "failed", "pipeline_id": "b_pipe"}),
    ],
    ("api/v1/connections", "get"): [OwnScope()],
    ("api/v1/connections", "post"): [OwnScope({"id": "wh-a", "type": "sqlite", "config": {"path": "nowhere.db"}})],
    ("api/v1/connections/{id}", "get"): [NotFound()],
    ("api/v1/connections/{id}", "put"): [
        NotFound({"type": "postgres", "config": {"host": "evil", "database": "x", "user": "x"}})
    ],
    ("api/v1/connections/{id}", "patch"): [NotFound({"config": {"dsn": "postgresql://x@evil/db"}})],
    ("api/v1/connections/{id}", "delete"): [NotFound()],
    ("api/v1/checks/execute", "post"): [
        BodyRefused("connection_id", {"check_id": "adhoc", "connection_id": "wh-a", "sql": "SELECT 0 AS violations"}),
        BodyRefused("run_id", _on_b(run_id="run-a-1")),
        BodyRefused("pipeline", _on_b(pipeline="orders_sync")),
        BodyRefused("dataset", _on_b(dataset="clean_orders")),
        # A's check id: B has no such definition, so A's SQL and connection are not used.
        BodyRefused("connection_id", {"check_id": "chk_freshness"}),
    ],
    ("api/v1/checks/results", "get"): [OwnScope()],
    ("api/v1/checks/results", "post"): [
        BodyRefused("run_id", {"check_id": "adhoc", "status": "pass", "violations": 0, "run_id": "run-a-1"}),
        BodyRefused("pipeline", {"check_id": "adhoc", "status": "pass", "violations": 0, "pipeline": "orders_sync"}),
        BodyRefused("dataset", {"check_id": "adhoc", "status": "pass", "violations": 0, "dataset": "clean_orders"}),
        # A's result id and check id are natural keys per organization: B's own new result.
        OwnScope({"check_id": "chk_freshness", "status": "fail", "violations": 3, "result_id": "res-a-1"}),
    ],
    ("api/v1/checks/results/{result_id}", "get"): [NotFound()],
    ("api/v1/checks/executions/{execution_id}", "get"): [NotFound()],
    # An OpenLineage job named like A's pipeline and reading A's dataset: B's own rows only.
    ("api/v1/lineage", "post"): [OwnScope(openlineage_event("orders_sync", "clean_orders"))],
    ("api/v1/lineage/{dataset_id}", "get"): [NotFound()],
    ("api/v1/lineage/batch", "post"): [OwnScope([openlineage_event("orders_sync", "clean_orders")])],
    # Billing acts on the caller's organization only (no Stripe id taken from the body).
    ("api/v1/billing/checkout", "post"): [OwnScope({"plan": "enterprise"}, unavailable_ok=True)],
    ("api/v1/billing/portal", "post"): [OwnScope(unavailable_ok=True)],
    ("api/v1/alerts", "get"): [OwnScope()],
    # A rule name is unique per organization: B naming its rule like A's makes B's own.
    ("api/v1/alerts", "post"): [
        OwnScope({"name": "rule-a", "events": ["run_failed"], "destination": {"type": "email", "to": "b@example.com"}})
    ],
    ("api/v1/alerts/{rule_id}", "get"): [NotFound()],
    ("api/v1/alerts/{rule_id}", "patch"): [NotFound({"enabled": False})],
    ("api/v1/alerts/{rule_id}", "delete"): [NotFound()],
    ("api/v1/alerts/{rule_id}/deliveries", "get"): [NotFound()],
}

# Routes under /api/ that belong to no organization; each with the reason.
EXEMPT = {
    "api/schema": "the OpenAPI document: public, no tenant data",
    "api/docs": "Swagger UI page over the schema: public, no tenant data",
    "api/redoc": "ReDoc page over the schema: public, no tenant data",
}

# Outside /api/ (not tenant-scoped by design), for the record; asserted to still exist.
NON_API_EXEMPT = {
    "health": "liveness probe, no data",
    "ready": "readiness probe, no data",
    "metrics": "Prometheus metrics, process-level counters only",
    "stripe/webhook/{uuid}": "dj-stripe webhook: authenticated by Stripe's signature, not by an org key",
}

A_MARKERS = ("orders_sync", "run-a-1", "wh-a", "res-a-1", "clean_orders", "org-a", "rule-a", "hooks-a")


def test_every_api_route_is_covered():
    missing = []
    for route in api_routes():
        if route.key in EXEMPT:
            continue
        for method in route.methods:
            if (route.key, method) not in CROSS_ORG:
                missing.append(f"{method.upper()} /{route.key}  ({route.pattern})")
    assert not missing, "Teach tests/security/test_cross_org.py::CROSS_ORG how to attack:\n" + "\n".join(missing)
    known = {(r.key, m) for r in api_routes() for m in r.methods}
    stale = [entry for entry in CROSS_ORG if entry not in known]
    assert not stale, f"CROSS_ORG names routes that no longer exist: {stale}"


def _client(key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def _check(expectation, response) -> str | None:
    status = response.status_code
    body = response.content.decode(errors="replace")
    if isinstance(expectation, NotFound):
        return None if status == 404 else f"expected 404, got {status}: {body[:300]}"
    if isinstance(expectation, BodyRefused):
        if status != 400:
            return f"expected 400 naming {expectation.field!r}, got {status}: {body[:300]}"
        if expectation.field not in response.json():
            return f"400 does not name {expectation.field!r}: {body[:300]}"
        return None
    if status >= 500 and not (status == 503 and expectation.unavailable_ok):
        return f"expected an answer in B's own scope, got {status}: {body[:300]}"
    leaked = [marker for marker in A_MARKERS if marker in body and marker not in _sent(expectation)]
    return f"response names org A's objects {leaked}: {body[:300]}" if leaked else None


def _sent(expectation) -> str:
    return str(expectation.body or "")


def test_org_b_cannot_reach_org_a_on_any_route(world_a, world_b):
    """Every route x method x attempt, with and without the trailing slash: refused, nothing changed."""
    attacker = _client(world_b.keys["admin"])
    failures = []
    for route in api_routes():
        if route.key in EXEMPT:
            continue
        for method in route.methods:
            for expectation in CROSS_ORG[(route.key, method)]:
                path = route.path(**world_a.path_kwargs())
                for url in (path, path + "/"):
                    # Each attempt in a savepoint rolled back after, so attempts cannot feed each other.
                    with transaction.atomic():
                        before = snapshot(world_a.organization)
                        response = getattr(attacker, method)(url, expectation.body, format="json")
                        problem = _check(expectation, response)
                        changed = diff(before, snapshot(world_a.organization))
                        transaction.set_rollback(True)
                    if problem:
                        failures.append(f"{method.upper()} {url} {expectation}: {problem}")
                    if changed:
                        failures.append(f"{method.upper()} {url} changed org A: {changed}")
    assert not failures, "\n".join(failures)


def test_exemptions_name_real_routes(settings):
    from tests.security.routes import all_routes

    keys = {route.key for route in all_routes()}
    expected = set(NON_API_EXEMPT) - (set() if settings.METRICS_ENABLED else {"metrics"})
    assert expected <= keys, expected - keys
    assert set(EXEMPT) <= keys


def test_write_routes_are_all_in_the_table():
    """The role matrix builds on the same table: every write (route, method) has a body here."""
    writes = {(route.key, method) for route in api_routes() for method in write_methods(route)}
    assert writes <= set(CROSS_ORG)
