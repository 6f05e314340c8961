"""Demo data for `manage.py seed_demo`: the example pipeline and two more, connections, a run history.

Idempotent: registering the same versions again writes nothing, and existing connections and runs
are left as they are (an operator may have changed them since).
"""

import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from catalog import services
from catalog.models import Connection, Pipeline, Run, RunStatus
from catalog.secrets import env_prefix
from workflows import pipeline_spec
from workflows.registration import register_pipeline

ORDERS_SYNC = Path(__file__).resolve().parent / "fixtures" / "orders_sync_pipeline.json"

CUSTOMERS_SNAPSHOT = {
    "name": "customers_snapshot",
    "version": "1",
    "description": "Daily snapshot of the customers table for slowly changing dimensions.",
    "schedule": "30 5 * * *",
    "owner": "data-platform@acme.example",
    "tags": ["customers"],
    "sources": [{"id": "raw_customers", "connection_id": "pg-prod", "table": "public.customers"}],
    "transforms": [
        {"id": "customers_dim", "inputs": ["raw_customers"], "sql": "SELECT *, CURRENT_DATE AS snapshot_date FROM raw"}
    ],
    "targets": [{"id": "customers_dim", "connection_id": "bq-prod", "table": "analytics.customers_dim"}],
    "checks": [
        {
            "id": "chk_customers_not_empty",
            "dataset": "customers_dim",
            "type": "volume",
            "severity": "error",
            "sql": "SELECT CASE WHEN COUNT(*) = 0 THEN 1 ELSE 0 END AS violations FROM analytics.customers_dim",
            "threshold": 0,
        }
    ],
}

REVENUE_REPORT = {
    "name": "revenue_report",
    "version": "2",
    "description": "Regional revenue for the finance dashboard, built on the daily orders mart.",
    "schedule": "0 7 * * 1-5",
    "owner": "finance-analytics@acme.example",
    "tags": ["finance", "reporting"],
    "sources": [{"id": "orders_daily", "connection_id": "bq-prod", "table": "marts.orders_daily"}],
    "transforms": [
        {
            "id": "revenue_by_region",
            "inputs": ["orders_daily"],
            "sql": "SELECT region, SUM(revenue) AS revenue FROM orders_daily GROUP BY 1",
        }
    ],
    "targets": [{"id": "revenue_by_region", "connection_id": "bq-prod", "table": "reporting.revenue_by_region"}],
    "checks": [
        {
            "id": "chk_every_region_reported",
            "dataset": "revenue_by_region",
            "type": "completeness",
            "severity": "warn",
            "sql": "SELECT COUNT(*) AS violations FROM reporting.revenue_by_region WHERE revenue IS NULL",
            "threshold": 0,
        }
    ],
}


def connections(organization):
    """The demo connections; their secrets are references into the organization's own env namespace
    (`DATAXPIPE_SECRET_DEMO_...` for the `demo` organization), the only names it may use."""
    env = f"env:{env_prefix(organization)}"
    return [
        (
            "pg-prod",
            "postgres",
            # A warehouse on this machine would need DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS: the demo names a remote one.
            {"dsn": "postgresql://etl@warehouse.example.com:5432/orders", "password_secret": f"{env}PG_PROD_PASSWORD"},
        ),
        (
            "bq-prod",
            "bigquery",
            {
                "project": "acme-analytics",
                "location": "EU",
                "dataset": "analytics",
                "maximum_bytes_billed": 10 * 1024**3,
                "credentials_secret": f"{env}BQ_PROD_CREDENTIALS_JSON",
            },
        ),
    ]


# (pipeline, days ago, final status); the newest orders_sync run is still running.
ORDERS_HISTORY = ["success"] * 5 + ["failed", "success", "success", "cancelled", "success", "failed", "success"]


def _history():
    for day, status in enumerate(ORDERS_HISTORY):
        yield "orders_sync", len(ORDERS_HISTORY) - day, 6, status
    yield "orders_sync", 0, 6, RunStatus.RUNNING
    for day in range(5, -1, -1):
        yield "customers_snapshot", day, 5, RunStatus.SUCCESS if day else RunStatus.QUEUED
    yield "revenue_report", 1, 7, RunStatus.FAILED
    yield "revenue_report", 0, 7, RunStatus.SUCCESS


def seed(organization, stdout):
    for body in (json.loads(ORDERS_SYNC.read_text()), CUSTOMERS_SNAPSHOT, REVENUE_REPORT):
        register_pipeline(organization=organization, spec=pipeline_spec.parse(body))

    demo_connections = connections(organization)
    for connection_id, connection_type, config in demo_connections:
        if not Connection.objects.for_organization(organization).filter(connection_id=connection_id).exists():
            services.create_connection(
                organization=organization,
                connection_id=connection_id,
                connection_type=connection_type,
                config=config,
            )

    pipelines = {p.name: p for p in Pipeline.objects.for_organization(organization).select_related("current_version")}
    today = timezone.now().replace(minute=0, second=0, microsecond=0)
    created = 0
    for name, days_ago, hour, status in sorted(_history(), key=lambda item: (-item[1], item[2])):
        started = (today - timedelta(days=days_ago)).replace(hour=hour)
        # Run ids are unique per organization; Airflow's are unique per DAG, so the DAG id leads.
        run_id = f"{name}__scheduled__{started:%Y-%m-%dT%H:%M:%S}+00:00"
        if Run.objects.for_organization(organization).filter(run_id=run_id).exists():
            continue
        first = RunStatus.QUEUED if status == RunStatus.QUEUED else RunStatus.RUNNING
        event = {"organization": organization, "pipeline": pipelines[name], "run_id": run_id}
        services.apply_run_event(
            **event,
            status=first,
            started_at=started if first == RunStatus.RUNNING else None,
            attributes={"dag_id": name, "seeded": True},
        )
        if status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            services.apply_run_event(**event, status=status, finished_at=started + timedelta(minutes=7 + days_ago))
        created += 1
    stdout.write(
        f"catalog: {len(pipelines)} pipelines, {len(demo_connections)} connections, {created} new runs "
        f"({Run.objects.for_organization(organization).count()} in all)."
    )
