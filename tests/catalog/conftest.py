import copy
import json
from pathlib import Path

import pytest

from workflows import pipeline_spec
from workflows.registration import register_pipeline

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "workflows/demo/fixtures/orders_sync_pipeline.json").read_text()
)


@pytest.fixture
def example_spec():
    """A fresh copy of the generated orders_sync pipeline.json (the shared example, vendored)."""
    return copy.deepcopy(EXAMPLE)


@pytest.fixture
def register():
    def register(organization, body):
        return register_pipeline(organization=organization, spec=pipeline_spec.parse(body))

    return register


def small_spec(name, version="1", **overrides):
    spec = {
        "name": name,
        "version": version,
        "schedule": "@daily",
        "owner": "team@acme.example",
        "tags": ["small"],
        "sources": [{"id": f"{name}_src", "connection_id": "pg-prod", "table": f"public.{name}"}],
        "transforms": [{"id": f"{name}_out", "inputs": [f"{name}_src"], "sql": "SELECT 1"}],
        "targets": [{"id": f"{name}_out", "connection_id": "bq-prod", "table": f"analytics.{name}"}],
        "checks": [],
    }
    spec.update(overrides)
    return spec
