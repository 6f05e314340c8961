"""A scratch PostgreSQL warehouse database and its least-privilege login role, shared by the test folders.

Both are named after the catalog's test database (and the xdist worker), so two suites on one server
(worktrees, CI jobs, xdist workers) never share them. Roles are server-wide: the role is created only if
missing (a concurrent creation by the same suite is tolerated) and gets CONNECT, USAGE and SELECT only, as
docs/security.md tells operators to do. Checks must never run as the superuser `postgres`.
"""

import os

import psycopg

# DATABASE_TEST_NAME first: two suites that share DATABASE_URL but name their test databases apart
# (config/settings.py) must not share warehouses either.
_SUITE = (os.environ.get("DATABASE_TEST_NAME") or os.environ.get("DATABASE_URL", "dxp").rsplit("/", 1)[-1] or "dxp") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
)
WAREHOUSE_DB = f"{_SUITE}_checks_wh"
CHECKER_ROLE = f"{_SUITE}_checker"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The superuser's view of the warehouse: for setting it up and snapshotting it, never for a connection.
PG_WAREHOUSE_ADMIN_DSN = f"postgresql://postgres@127.0.0.1:5432/{WAREHOUSE_DB}"
ORDERS = [(1, 120.0, 0), (2, 80.5, 0), (3, -5.0, 0), (4, 42.0, 1)]  # order_id, amount, is_late


def checker_dsn(host="127.0.0.1", port=5432, user=CHECKER_ROLE, dbname=WAREHOUSE_DB) -> str:
    """What a tenant registers: the least-privilege role on the warehouse database."""
    return f"postgresql://{user}@{host}:{port}/{dbname}"


def reachable() -> bool:
    try:
        psycopg.connect(PG_ADMIN_DSN, connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def ensure_role(admin, role: str = CHECKER_ROLE) -> None:
    admin.execute(
        "DO $$ BEGIN CREATE ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def admin_dsn(dbname: str = WAREHOUSE_DB) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{dbname}"


def create_warehouse(dbname: str = WAREHOUSE_DB) -> None:
    """(Re)creates a warehouse database with its orders table and sequence, and grants the checker role.
    Each test folder uses its own database name (WAREHOUSE_DB + a suffix), so none drops another's."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {dbname}")
        ensure_role(admin)
    with psycopg.connect(admin_dsn(dbname), autocommit=True) as connection:
        connection.execute("CREATE TABLE orders (order_id int PRIMARY KEY, amount numeric, is_late boolean)")
        connection.execute("CREATE SEQUENCE order_ids")
        for order_id, amount, late in ORDERS:
            connection.execute("INSERT INTO orders VALUES (%s, %s, %s)", (order_id, amount, bool(late)))
        connection.execute(f"REVOKE ALL ON DATABASE {dbname} FROM PUBLIC")
        connection.execute(f"GRANT CONNECT ON DATABASE {dbname} TO {CHECKER_ROLE}")
        connection.execute(f"GRANT USAGE ON SCHEMA public TO {CHECKER_ROLE}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CHECKER_ROLE}")


def drop_warehouse(dbname: str = WAREHOUSE_DB) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
