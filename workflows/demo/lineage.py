"""Demo data: one OpenLineage-reported run of an external job, as Airflow would post it.

Idempotent: the events have fixed run ids and times, so a second seed is recognised as duplicates.
"""

import uuid

from workflows.openlineage import ingest

DEMO_RUN_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "dataxpipe-demo/finance_report/2025-06-01"))


def _event(event_type: str, when: str) -> dict:
    assertions = {
        "assertions": [
            {"assertion": "not_null", "column": "region", "success": True},
            {"assertion": "row_count_positive", "success": False, "severity": "warn"},
        ]
    }
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.0.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": DEMO_RUN_ID},
        "job": {"namespace": "airflow://demo", "name": "finance_report"},
        "inputs": [
            {
                "namespace": "bigquery",
                "name": "acme.marts.orders_daily",
                "inputFacets": {"dataQualityAssertions": assertions} if event_type == "COMPLETE" else {},
            }
        ],
        "outputs": [{"namespace": "bigquery", "name": "acme.finance.revenue_report"}],
    }


def seed(organization, stdout):
    accepted = 0
    for event_type, when in (("START", "2025-06-01T07:00:00Z"), ("COMPLETE", "2025-06-01T07:04:00Z")):
        outcome = ingest(organization=organization, payload=_event(event_type, when))
        accepted += not outcome.duplicate
    stdout.write(f"lineage: {accepted} OpenLineage event(s) ingested for job finance_report")
