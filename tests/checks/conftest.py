"""Warehouses for the checks tests: real SQLite files, a real PostgreSQL scratch database,
Snowflake through fakesnow behind the real connector, and a local fake of BigQuery's REST API."""

import os
import sqlite3

import psycopg
import pytest

from checks.connectors import clear_cache

# Named after the catalog's test database, so two suites on one server (worktrees, CI) never share it.
WAREHOUSE_DB = f"{os.environ.get('DATABASE_URL', 'dxp').rsplit('/', 1)[-1] or 'dxp'}_checks_wh"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_WAREHOUSE_DSN = f"postgresql://postgres@127.0.0.1:5432/{WAREHOUSE_DB}"

ORDERS = [(1, 120.0, 0), (2, 80.5, 0), (3, -5.0, 0), (4, 42.0, 1)]  # order_id, amount, is_late


@pytest.fixture(autouse=True)
def _fresh_connectors():
    clear_cache()
    yield
    clear_cache()


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


def _pg_reachable() -> bool:
    try:
        psycopg.connect(PG_ADMIN_DSN, connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_warehouse_dsn():
    """A scratch PostgreSQL database on the machine's server, rebuilt once per test session."""
    if not _pg_reachable():
        pytest.skip("needs the PostgreSQL server on 127.0.0.1:5432 for the warehouse database")
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {WAREHOUSE_DB}")
    with psycopg.connect(PG_WAREHOUSE_DSN, autocommit=True) as connection:
        connection.execute("CREATE TABLE orders (order_id int PRIMARY KEY, amount numeric, is_late boolean)")
        connection.execute("CREATE SEQUENCE order_ids")
        for order_id, amount, late in ORDERS:
            connection.execute("INSERT INTO orders VALUES (%s, %s, %s)", (order_id, amount, bool(late)))
    yield PG_WAREHOUSE_DSN
    clear_cache()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB} WITH (FORCE)")
