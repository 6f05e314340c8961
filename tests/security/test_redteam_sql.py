"""The red team's check SQL (issue "Tenant-safe warehouse access", item 5), replayed through the API.

An ordinary write key posts to /api/v1/checks/execute. Every attack must be a 400 naming `sql`,
record no CheckResult, count no execution, and leave nothing behind in the warehouse: no advisory
lock held, no large object, no sequence moved, no other session terminated.

The PostgreSQL attacks run against a real scratch database on the local server, created here (not
the checks suite's fixture, which another change makes non-privileged): the role is the server's
superuser on purpose, so a function that slipped through the parser would really run. The nesting
attacks use a SQLite warehouse and need no server; the parser-level replay needs no database at all.
"""

import logging

import psycopg
import pytest

from catalog.models import Connection
from checks.connectors import clear_cache
from checks.models import CheckResult
from checks.sql_safety import MAX_NESTING, UnsafeSQL, check_read_only
from orgs.models import Role, UsageCounter
from tests import pg_warehouse

# Named after the suite and xdist worker (tests.pg_warehouse): two suites never drop each other's warehouse.
WAREHOUSE_DB = f"{pg_warehouse.WAREHOUSE_DB}_redteam"
LOCK_KEY = 424242

# What the red team sent, and spellings of the same that a name-only deny-list let through.
# `{victim}` is the pid of a session the attack tries to terminate.
POSTGRES_ATTACKS = [
    r"""SELECT U&"pg\005fread\005ffile"('/etc/passwd')""",
    r"""SELECT length(U&"pg!005fread!005ffile" UESCAPE '!' ('/etc/passwd'))""",
    'SELECT "pg_catalog"."pg_read_file"(\'/etc/passwd\')',
    "SELECT COUNT(*) FROM pg_ls_dir('.')",
    r"""SELECT COUNT(*) FROM U&"pg\005fls\005fdir"('.')""",
    "SELECT COUNT(*) FROM ROWS FROM (pg_catalog.pg_ls_dir('.'))",
    "SELECT pg_terminate_backend({victim})",
    r"""SELECT U&"pg\005fterminate\005fbackend"({victim})""",
    "SELECT 0 FROM orders, LATERAL pg_catalog.pg_cancel_backend({victim}) AS c",
    f"SELECT pg_advisory_lock({LOCK_KEY})",
    f'SELECT "PG_ADVISORY_LOCK"({LOCK_KEY})',
    rf"""SELECT U&"pg\005fadvisory\005flock"({LOCK_KEY})""",
    f"SELECT COUNT(*) FROM orders WHERE pg_try_advisory_lock({LOCK_KEY})",
    "SELECT lo_import('/etc/passwd')",
    r"""SELECT U&"lo\005fimport"('/etc/passwd')""",
    "SELECT lo_from_bytea(0, 'kept after the check')",
    "SELECT COUNT(*) FROM ts_stat('SELECT to_tsvector(nextval(''order_ids'')::text)')",
    "SELECT query_to_xml('SELECT nextval(''order_ids'')', true, false, '')",
    "SELECT nextval('order_ids')",
    "SELECT 'x\\', ' , pg_advisory_lock(" + str(LOCK_KEY) + ") , ' AS y --'",
]


def nested(depth: int) -> str:
    return "SELECT " + "(" * depth + "COUNT(*)" + ")" * depth + " FROM orders"


def execute(client, connection_id, sql):
    return client.post(
        "/api/v1/checks/execute",
        {"connection_id": connection_id, "sql": sql, "check_id": "chk_redteam"},
        format="json",
    )


@pytest.fixture
def writer(make_client, org_a):
    return make_client(org_a, Role.WRITE)


# --- Parser level: no database --------------------------------------------------------------------


@pytest.mark.parametrize("sql", POSTGRES_ATTACKS)
def test_every_attack_is_refused_by_the_parser_alone(sql):
    with pytest.raises(UnsafeSQL):
        check_read_only(sql.format(victim=12345), "postgres")


# --- Nesting through the API on SQLite: a 400, not a 500 with a traceback in the log ---------------


@pytest.fixture
def shop(org_a, warehouse_dir):
    import sqlite3

    (warehouse_dir / "org-a").mkdir(exist_ok=True)
    path = warehouse_dir / "org-a" / "shop.sqlite3"  # org A's own directory (catalog.sqlite_paths)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount REAL)")
        connection.execute("INSERT INTO orders VALUES (1, -5.0)")
    connection.close()
    clear_cache()
    yield Connection.objects.create(organization=org_a, connection_id="shop", type="sqlite", config={"path": str(path)})
    clear_cache()


@pytest.mark.parametrize("depth", [45, 200, 5000])
def test_deeply_nested_sql_is_a_400_on_sql_with_no_big_log_line(writer, shop, caplog, depth):
    caplog.set_level(logging.DEBUG)
    response = execute(writer, "shop", nested(depth))
    assert response.status_code == 400, response.content[:300]
    assert f"more than {MAX_NESTING} levels" in response.json()["sql"][0]
    assert not CheckResult.objects.unscoped().exists()
    assert not UsageCounter.objects.unscoped().exists()
    assert all(len(record.getMessage()) < 300 and not record.exc_info for record in caplog.records), [
        (record.name, len(record.getMessage())) for record in caplog.records
    ]
    assert sum(len(record.getMessage()) for record in caplog.records) < 1000


def test_deep_nesting_without_brackets_is_a_400_too(writer, shop, caplog):
    caplog.set_level(logging.DEBUG)
    response = execute(writer, "shop", "SELECT COUNT(*) FROM orders WHERE " + "NOT " * 3000 + "1")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["sql"][0]
    assert not any(record.exc_info for record in caplog.records)


def test_nesting_within_the_limit_still_runs(writer, shop):
    response = execute(writer, "shop", nested(MAX_NESTING - 1))
    assert response.status_code == 201, response.content
    assert response.json()["violations"] == 1


# --- PostgreSQL: the attacks against a real warehouse, and what the warehouse shows afterwards -----


@pytest.fixture(scope="module")
def redteam_warehouse():
    """The superuser's DSN of a scratch warehouse (orders with one negative amount, a sequence)."""
    if not pg_warehouse.reachable():
        pytest.skip("needs the PostgreSQL server on 127.0.0.1:5432 for the warehouse database")
    pg_warehouse.create_warehouse(WAREHOUSE_DB)
    yield pg_warehouse.admin_dsn(WAREHOUSE_DB)
    clear_cache()
    pg_warehouse.drop_warehouse(WAREHOUSE_DB)


@pytest.fixture
def pg_shop(org_a, redteam_warehouse, settings):
    # The warehouse is on loopback and its role is privileged: both allowed here, so only the parser stands
    # between the attack and the server.
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES = True
    clear_cache()
    yield Connection.objects.create(
        organization=org_a, connection_id="pg-shop", type="postgres", config={"dsn": redteam_warehouse}
    )
    clear_cache()


@pytest.fixture
def victim(redteam_warehouse):
    """Another session on the warehouse, which pg_terminate_backend / pg_cancel_backend would end."""
    with psycopg.connect(redteam_warehouse, autocommit=True) as connection:
        yield connection


def warehouse_state(dsn):
    with psycopg.connect(dsn, autocommit=True) as connection:
        advisory = connection.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0]
        large_objects = connection.execute("SELECT COUNT(*) FROM pg_largeobject_metadata").fetchone()[0]
        sequence = connection.execute("SELECT last_value, is_called FROM order_ids").fetchone()
    return {"advisory_locks": advisory, "large_objects": large_objects, "sequence": sequence}


def test_the_warehouse_answers_a_plain_check(writer, pg_shop):
    """The control: the same key, connection and server do run an honest check, so the 400s below are refusals."""
    response = execute(writer, "pg-shop", "SELECT COUNT(*) FROM orders WHERE amount < 0")
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["violations"]) == ("fail", 1)


@pytest.mark.parametrize("sql", POSTGRES_ATTACKS)
def test_the_attack_is_a_400_and_nothing_ran_on_the_warehouse(writer, pg_shop, redteam_warehouse, victim, sql):
    before = warehouse_state(redteam_warehouse)
    assert before == {"advisory_locks": 0, "large_objects": 0, "sequence": (1, False)}
    response = execute(writer, "pg-shop", sql.format(victim=victim.info.backend_pid))
    assert response.status_code == 400, response.content
    assert response.json()["sql"]
    assert "root:" not in response.content.decode()
    assert not CheckResult.objects.unscoped().exists()
    assert not UsageCounter.objects.unscoped().exists()
    assert warehouse_state(redteam_warehouse) == before
    assert victim.execute("SELECT 1").fetchone() == (1,)  # the other session is alive


def test_sql_nested_45_deep_is_a_400_on_postgres_too(writer, pg_shop):
    response = execute(writer, "pg-shop", nested(45))
    assert response.status_code == 400
    assert "levels" in response.json()["sql"][0]


def test_a_string_whose_end_depends_on_standard_conforming_strings_is_refused(writer, pg_shop, redteam_warehouse):
    """A tenant can set standard_conforming_strings=off on their own database; the string then ends earlier."""
    # sqlglot (and a default server) read two strings and a comment; with backslash escapes the middle is code.
    sql = f"SELECT 'x\\', ' , pg_advisory_lock({LOCK_KEY}) , ' AS y --'"
    # Why it matters: read with backslash escapes, the same text takes the lock.
    with psycopg.connect(
        redteam_warehouse, autocommit=True, options="-c standard_conforming_strings=off -c escape_string_warning=off"
    ) as session:
        session.execute(sql)
        assert warehouse_state(redteam_warehouse)["advisory_locks"] == 1
    assert warehouse_state(redteam_warehouse)["advisory_locks"] == 0
    response = execute(writer, "pg-shop", sql)
    assert response.status_code == 400
    assert "standard_conforming_strings" in response.json()["sql"][0]
