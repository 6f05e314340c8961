"""Valid request bodies for org A's own write routes (the role matrix and mass assignment use them)."""

from tests.security.world import example_spec

# Org A's own namespace of env: references (catalog.secrets): the bodies are org A's.
POSTGRES_CONFIG = {
    "host": "warehouse.invalid",
    "database": "orders",
    "user": "reporter",
    "password_secret": "env:DATAXPIPE_SECRET_ORG_A_PW",
}


def openlineage_event(job: str, dataset: str, run_id="0190c7a2-5f1e-7c3a-9c1e-1d2c3b4a5f60") -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T06:00:00Z",
        "run": {"runId": run_id},
        "job": {"namespace": "airflow", "name": job},
        "inputs": [{"namespace": "postgres://pg", "name": dataset}],
        "outputs": [{"namespace": "postgres://pg", "name": "b_out"}],
        "producer": "https://github.com/OpenLineage/OpenLineage",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


OWN_BODIES = {
    ("api/v1/api-keys", "post"): {"name": "ci", "role": "read"},
    ("api/v1/api-keys/{pk}/revoke", "post"): None,
    ("api/v1/pipelines", "post"): example_spec(version="4"),
    ("api/v1/runs", "post"): {"pipeline_id": "orders_sync", "status": "running"},
    ("api/v1/runs/{run_id}", "patch"): {"status": "success"},
    ("api/v1/connections", "post"): {"id": "wh-new", "type": "postgres", "config": POSTGRES_CONFIG},
    ("api/v1/connections/{id}", "put"): {"type": "postgres", "config": POSTGRES_CONFIG},
    ("api/v1/connections/{id}", "patch"): {"config": POSTGRES_CONFIG},
    ("api/v1/connections/{id}", "delete"): None,
    ("api/v1/checks/execute", "post"): {"check_id": "adhoc", "connection_id": "wh-a", "sql": "SELECT 0 AS violations"},
    ("api/v1/checks/results", "post"): {"check_id": "adhoc", "status": "pass", "violations": 0},
    ("api/v1/lineage", "post"): openlineage_event("orders_sync", "clean_orders"),
    ("api/v1/lineage/batch", "post"): [openlineage_event("orders_sync", "clean_orders")],
    ("api/v1/runs/batch", "post"): [{"pipeline_id": "orders_sync", "status": "running"}],
    ("api/v1/billing/checkout", "post"): {"plan": "enterprise"},
    ("api/v1/billing/portal", "post"): None,
    ("api/v1/alerts", "post"): {
        "name": "ops-mail",
        "events": ["run_failed"],
        "destination": {"type": "email", "to": "ops@example.com"},
    },
    ("api/v1/alerts/{rule_id}", "patch"): {"enabled": False},
    ("api/v1/alerts/{rule_id}", "delete"): None,
}
