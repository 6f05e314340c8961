"""Demo data for `manage.py seed_demo`: a SQLite warehouse, its connection, and executed checks.

The warehouse file lives in the organization's own directory of the first DATAXPIPE_SQLITE_ALLOWED_DIRS
entry (`var/warehouses/demo/` for `make run`); the connection names it relative to that directory. The checks are
those of the example pipeline `orders_sync`, rewritten for SQLite; some pass and some fail. They run only
for the `orders_sync` runs the catalog's demo has just created (`new_runs`), attached to the latest two:
never on a run someone else posted, so a second seed executes nothing and spends none of the plan's checks.
"""

import os
import sqlite3
from contextlib import closing

from catalog import services as catalog_services
from catalog import sqlite_paths
from catalog.models import Connection, ConnectionType
from checks import services
from checks.models import CheckResult

CONNECTION_ID = "demo-warehouse"
FILE_NAME = "demo_warehouse.sqlite3"
PIPELINE = "orders_sync"
RUNS_WITH_RESULTS = 2

DEMO_CHECKS = [
    # (check id, SQL for SQLite); the demo data makes the first pass and the other two fail.
    (
        "chk_order_id_unique",
        "SELECT COUNT(*) AS violations FROM (SELECT order_id FROM clean_orders GROUP BY order_id HAVING COUNT(*) > 1)",
    ),
    ("chk_revenue_not_negative", "SELECT COUNT(*) AS violations FROM orders_daily WHERE revenue < 0"),
    (
        "chk_freshness",
        "SELECT COUNT(*) AS violations FROM clean_orders WHERE loaded_at < datetime('now', '-1 day')",
    ),
]

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS clean_orders (order_id INTEGER, customer_id INTEGER, amount REAL, "
    "order_date TEXT, loaded_at TEXT)",
    "CREATE TABLE IF NOT EXISTS orders_daily (order_date TEXT, region TEXT, revenue REAL)",
]
_ORDERS = [
    (1001, 1, 120.0, "2025-06-01", "2025-06-01 06:05:00"),
    (1002, 2, 80.5, "2025-06-01", "2025-06-01 06:05:00"),
    (1003, 1, 42.0, "2025-06-02", "2025-06-02 06:04:00"),
]
_DAILY = [("2025-06-01", "emea", 200.5), ("2025-06-02", "emea", 42.0), ("2025-06-02", "amer", -12.0)]


def build_warehouse(organization) -> str:
    # The directory a relative connection path is resolved in (catalog.sqlite_paths): the demo's relative path finds it.
    directory = sqlite_paths.organization_dirs(organization)[0]
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, FILE_NAME)
    with closing(sqlite3.connect(path)) as connection, connection:
        for statement in _SCHEMA:
            connection.execute(statement)
        if not connection.execute("SELECT COUNT(*) FROM clean_orders").fetchone()[0]:
            connection.executemany("INSERT INTO clean_orders VALUES (?, ?, ?, ?, ?)", _ORDERS)
            connection.executemany("INSERT INTO orders_daily VALUES (?, ?, ?)", _DAILY)
    return path


def ensure_connection(organization, path: str) -> Connection:
    """The demo warehouse's connection, written through the catalog's services (validation, plan limit)."""
    connection = Connection.objects.for_organization(organization).filter(connection_id=CONNECTION_ID).first()
    if connection is None:
        return catalog_services.create_connection(
            organization=organization,
            connection_id=CONNECTION_ID,
            connection_type=ConnectionType.SQLITE,
            config={"path": path},
        )
    if connection.config.get("path") != path:
        catalog_services.update_connection(connection=connection, config={**connection.config, "path": path})
    return connection


def seed(organization, stdout, new_runs=()) -> None:
    path = build_warehouse(organization)
    ensure_connection(organization, FILE_NAME)
    demo_runs = [run for run in new_runs if run.pipeline.name == PIPELINE]
    demo_runs = sorted(demo_runs, key=lambda run: (run.created_at, run.pk), reverse=True)[:RUNS_WITH_RESULTS]
    created = 0
    for run in demo_runs:
        for check_id, sql in DEMO_CHECKS:
            result_id = f"demo-{check_id}-{run.run_id}"
            if CheckResult.objects.for_organization(organization).filter(result_id=result_id).exists():
                continue
            services.execute_check(
                organization,
                check_id=check_id,
                connection_id=CONNECTION_ID,
                sql=sql,
                run_id=run.run_id,
                pipeline_name=PIPELINE,
                result_id=result_id,
            )
            created += 1
    linked = (
        f"attached to {len(demo_runs)} new demo run(s) of {PIPELINE}"
        if demo_runs
        else "none executed (no new demo run to attach them to)"
    )
    stdout.write(f"checks: demo warehouse {path}, connection '{CONNECTION_ID}', {created} new result(s), {linked}.")
