"""Warehouses for the checks tests: real SQLite files, a real PostgreSQL scratch database,
Snowflake through fakesnow behind the real connector, and a local fake of BigQuery's REST API."""

import sqlite3

import pytest

from checks.connectors import clear_cache
from tests.pg_warehouse import (  # noqa: F401 (re-exported for the checks tests)
    CHECKER_ROLE,
    ORDERS,
    PG_ADMIN_DSN,
    PG_WAREHOUSE_ADMIN_DSN,
    WAREHOUSE_DB,
    checker_dsn,
    create_warehouse,
    drop_warehouse,
    reachable,
)


@pytest.fixture(autouse=True)
def _fresh_connectors():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _loopback_warehouses_allowed(settings):
    """The warehouses of these tests live on this machine: the operator allow-lists loopback."""
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def allowed_dir(tmp_path, settings):
    """Org A's own directory (`<allowed dir>/org-a/`): a sqlite path must lie in its organization's."""
    root = tmp_path / "warehouses"
    directory = root / "org-a"
    directory.mkdir(parents=True)
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(root)]
    return directory


@pytest.fixture
def sqlite_warehouse(allowed_dir):
    path = allowed_dir / "shop.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount REAL, is_late INTEGER)")
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?)", ORDERS)
    connection.close()
    return path


@pytest.fixture(scope="session")
def pg_warehouse_dsn():
    """A scratch PostgreSQL database on the machine's server, rebuilt once per test session: the DSN a tenant
    registers (the least-privilege checker role). Snapshots and set-up use PG_WAREHOUSE_ADMIN_DSN."""
    if not reachable():
        pytest.skip("needs the PostgreSQL server on 127.0.0.1:5432 for the warehouse database")
    create_warehouse()
    yield checker_dsn()
    clear_cache()
    drop_warehouse()
