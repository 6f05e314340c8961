"""Check results written from dataQualityAssertions show in the checks app's /api/v1/checks/results."""

import uuid

from tests.lineage.test_ingest_api import event, post


def test_a_failed_assertion_is_listed_as_a_failed_result(client_a, org_a):
    assertions = {
        "assertions": [
            {"assertion": "unique", "column": "order_id", "success": False},
            {"assertion": "not_null", "column": "order_id", "success": True},
        ]
    }
    inputs = [{"namespace": "pg", "name": "public.orders", "inputFacets": {"dataQualityAssertions": assertions}}]
    assert post(client_a, event("COMPLETE", str(uuid.uuid4()), job="orders_sync", inputs=inputs)).status_code == 201

    failed = client_a.get("/api/v1/checks/results", {"status": "fail"})

    assert failed.status_code == 200
    body = failed.content.decode()
    assert "unique:order_id" in body and "not_null:order_id" not in body
