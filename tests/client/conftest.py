"""A live catalog for the client's tests: the suite's gunicorn (tests/system/servers.py) on a fresh
SQLite file, with one organization, an admin key and a SQLite warehouse holding a duplicated order id."""

import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.system.servers import ROOT, Gunicorn, create_schema, manage, server_env

ORG = "clientorg"


@dataclass
class LiveCatalog:
    url: str
    api_key: str = field(repr=False)  # a failing test's report must not show it either
    read_key: str = field(repr=False)

    def env(self, **extra) -> dict:
        return {
            "DATAXPIPE_URL": self.url,
            "DATAXPIPE_API_KEY": self.api_key,
            "DATAXPIPE_TIMEOUT_SECONDS": "10",
            **extra,
        }


def pipeline_spec(name: str = "client_orders", version: str = "1.0.0") -> dict:
    """client_orders defines the checks; other pipelines define none, so check ids stay unambiguous."""
    spec = {
        "name": name,
        "version": version,
        "description": "orders for the client's tests",
        "schedule": "0 6 * * *",
        "owner": "data@example.com",
        "tags": ["client"],
        "sources": [{"id": "raw_orders", "connection_id": "wh", "table": "raw_orders"}],
        "transforms": [{"id": "clean_orders", "inputs": ["raw_orders"], "sql": "SELECT DISTINCT * FROM raw_orders"}],
        "targets": [{"id": "clean_orders", "connection_id": "wh", "table": "clean_orders"}],
        "checks": [
            {
                "id": "chk_order_id_unique",
                "dataset": "clean_orders",
                "connection_id": "wh",
                "type": "uniqueness",
                "severity": "error",
                "sql": "SELECT COUNT(*) AS violations FROM "
                "(SELECT order_id FROM clean_orders GROUP BY order_id HAVING COUNT(*) > 1)",
                "threshold": 0,
            },
            {
                "id": "chk_amount_positive",
                "dataset": "clean_orders",
                "connection_id": "wh",
                "type": "custom",
                "severity": "warn",
                "sql": "SELECT COUNT(*) AS violations FROM clean_orders WHERE amount <= 0",
                "threshold": 0,
            },
        ],
    }
    if name != "client_orders":
        spec["checks"] = []
    return spec


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    base = tmp_path_factory.mktemp("client-live")
    warehouses = base / "warehouses"
    (warehouses / ORG).mkdir(parents=True)
    warehouse = warehouses / ORG / "wh.sqlite3"
    with sqlite3.connect(warehouse) as db:
        db.execute("CREATE TABLE clean_orders (order_id INTEGER, amount REAL)")
        db.executemany("INSERT INTO clean_orders VALUES (?, ?)", [(1, 10.0), (2, 5.0), (2, 5.0), (3, 7.5)])
    env = server_env(f"sqlite:///{base / 'catalog.sqlite3'}", DATAXPIPE_SQLITE_ALLOWED_DIRS=str(warehouses))
    create_schema(env)
    manage(env, "create_org", ORG, "--plan", "enterprise")
    admin_key = manage(env, "create_api_key", ORG, "ops", "--role", "admin").strip().splitlines()[-1]
    read_key = manage(env, "create_api_key", ORG, "viewer", "--role", "read").strip().splitlines()[-1]
    server = Gunicorn(env, workers=1)
    catalog = LiveCatalog(server.url, admin_key, read_key)
    from dataxpipe import Client

    client = Client(catalog.url, admin_key, 10)
    client.create_connection("wh", "sqlite", {"path": str(warehouse)})
    client.register_pipeline(pipeline_spec())
    yield catalog
    server.stop()


def run_cli(*args, env: dict, input_text: str | None = None) -> subprocess.CompletedProcess:
    """The installed `dataxpipe` console script, as a CI job runs it."""
    command = [str(Path(sys.executable).with_name("dataxpipe")), *args]
    return subprocess.run(
        command, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
