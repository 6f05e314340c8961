"""Two organizations with one of everything, built through the real services.

Org A is the victim: a registered pipeline (datasets, edges, check definitions), a run, a
connection holding a DSN password and a secret reference, a recorded check result and an API
key. Org B is the attacker: its own pipeline, run, SQLite connection and dataset, so a request
can carry exactly ONE foreign id and everything else valid.
"""

import copy
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.db import models

from alerts import services as alert_services
from catalog import services as catalog_services
from checks import execution_services
from checks import services as check_services
from orgs import services as org_services
from orgs.models import Organization, Role
from workflows import pipeline_spec
from workflows.registration import register_pipeline

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "workflows/demo/fixtures/orders_sync_pipeline.json").read_text()
)
A_DSN_PASSWORD = "Org-A-dsn-password-9f3k"
OWN_APPS = ("orgs", "catalog", "checks", "lineage", "billing", "alerts")
# Bookkeeping the caller's own authentication writes (at most once a minute), not a change of data.
IGNORED_COLUMNS = {"last_used_at"}


@dataclass
class OrgWorld:
    organization: Organization
    pipeline: str
    version: str
    run_id: str
    connection_id: str
    result_id: str
    dataset_id: str
    check_id: str
    api_key_pk: int
    keys: dict = field(default_factory=dict)  # role -> full key
    execution_id: str = ""
    alert_rule_id: int = 0

    def path_kwargs(self) -> dict:
        return {
            "name": self.pipeline,
            "version": self.version,
            "run_id": self.run_id,
            "id": self.connection_id,
            "pk": self.api_key_pk,
            "result_id": self.result_id,
            "dataset_id": self.dataset_id,
            "execution_id": self.execution_id,
            "rule_id": self.alert_rule_id,
        }


def example_spec(name="orders_sync", version="3"):
    spec = copy.deepcopy(EXAMPLE)
    spec["name"], spec["version"] = name, version
    return spec


def _keys(organization) -> dict:
    made = {}
    for role in (Role.READ, Role.WRITE, Role.ADMIN):
        api_key, full = org_services.create_api_key(organization=organization, name=f"{role}-key", role=role)
        made[str(role)] = full
        made[f"{role}-pk"] = api_key.pk
    return made


def build_org_a(make_org) -> OrgWorld:
    org = make_org("org-a")
    register_pipeline(organization=org, spec=pipeline_spec.parse(example_spec()))
    pipeline = org.pipelines.get(name="orders_sync")
    catalog_services.apply_run_event(organization=org, pipeline=pipeline, status="running", run_id="run-a-1")
    catalog_services.create_connection(
        organization=org,
        connection_id="wh-a",
        connection_type="postgres",
        # A .invalid name never resolves: executions end in a recorded error, registration accepts it.
        config={
            "dsn": f"postgresql://reporter:{A_DSN_PASSWORD}@warehouse-a.invalid:5432/orders",
            "statement_timeout_seconds": 5,
        },
    )
    catalog_services.create_connection(
        organization=org,
        connection_id="wh-a-ref",
        connection_type="postgres",
        config={
            "host": "warehouse-a.invalid",
            "database": "orders",
            "user": "reporter",
            "password_secret": "env:DATAXPIPE_SECRET_ORG_A_PW",
        },
    )
    result, _ = check_services.record_result(
        org, check_id="chk_freshness", status="pass", violations=0, run_id="run-a-1", result_id="res-a-1"
    )
    # An execution asked for through the queue (run at once in the suite: an error, the host never resolves).
    submission = execution_services.submit_execution(
        org, check_id="chk_adhoc_a", connection_id="wh-a", sql="SELECT 0 AS violations"
    )
    # An alert rule with a webhook (its URL holds a token; the host never resolves) and one alert, delivered.
    rule = alert_services.create_rule(
        organization=org,
        name="rule-a",
        events=["run_failed", "check_failed"],
        destination_type="webhook",
        url="https://hooks-a.invalid/dataxpipe?token=org-a-webhook-token-77x",
    ).rule
    keys = _keys(org)
    return OrgWorld(
        organization=org,
        alert_rule_id=rule.pk,
        execution_id=submission.execution.execution_id,
        pipeline="orders_sync",
        version="3",
        run_id="run-a-1",
        connection_id="wh-a",
        result_id=result.result_id,
        dataset_id="clean_orders",
        check_id="chk_freshness",
        api_key_pk=keys["read-pk"],
        keys=keys,
    )


def build_org_b(make_org, warehouse_dir: Path) -> OrgWorld:
    org = make_org("org-b")
    spec = example_spec(name="b_pipe", version="1")
    spec["checks"] = []
    for item in spec["sources"] + spec["targets"]:
        item["id"] = "b_" + item["id"]
    spec["transforms"] = []
    spec["targets"] = spec["targets"][:1]
    register_pipeline(organization=org, spec=pipeline_spec.parse(spec))
    pipeline = org.pipelines.get(name="b_pipe")
    catalog_services.apply_run_event(organization=org, pipeline=pipeline, status="running", run_id="run-b-1")
    (warehouse_dir / "org-b").mkdir(exist_ok=True)
    path = warehouse_dir / "org-b" / "b.sqlite3"  # org B's own directory (catalog.sqlite_paths)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    conn.close()
    catalog_services.create_connection(
        organization=org, connection_id="wh-b", connection_type="sqlite", config={"path": str(path)}
    )
    keys = _keys(org)
    return OrgWorld(
        organization=org,
        pipeline="b_pipe",
        version="1",
        run_id="run-b-1",
        connection_id="wh-b",
        result_id="",
        dataset_id="b_raw_orders",
        check_id="",
        api_key_pk=keys["read-pk"],
        keys=keys,
    )


def _organization_path(model) -> str | None:
    """The lookup from `model` to its organization, or None for models that have none."""
    if model is Organization:
        return "pk"
    for model_field in model._meta.concrete_fields:
        if isinstance(model_field, models.ForeignKey) and model_field.related_model is Organization:
            return model_field.name
    for model_field in model._meta.concrete_fields:
        if isinstance(model_field, models.ForeignKey):
            related = model_field.related_model
            for inner in related._meta.concrete_fields:
                if isinstance(inner, models.ForeignKey) and inner.related_model is Organization:
                    return f"{model_field.name}__{inner.name}"
    return None


def snapshot(organization) -> dict:
    """Every row that belongs to `organization`, in every model of the service's own apps."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label not in OWN_APPS or model._meta.proxy:
            continue
        lookup = _organization_path(model)
        if lookup is None:
            continue
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED_COLUMNS]
        rows[model._meta.label] = list(
            model._base_manager.filter(**{lookup: organization.pk}).order_by("pk").values(*columns)
        )
    return rows


def diff(before: dict, after: dict) -> list[str]:
    changed = []
    for label in before:
        if before[label] != after[label]:
            changed.append(f"{label}: {len(before[label])} rows -> {len(after[label])} rows or values changed")
    return changed
