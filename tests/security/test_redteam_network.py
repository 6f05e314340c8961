"""Red team: a hostile organization admin points a postgres connection at the catalog's own database, the
host, other networks, or shapes the session, against the real PostgreSQL server of the test database.

The target of the attacks is the CATALOG'S OWN TEST DATABASE (`connection.settings_dict`): every spelling of
its address is refused at registration with a 400 naming the rule, a legacy row stored directly is refused
at execution, and with loopback allow-listed the catalog's database stays refused. Legitimate loopback use
goes to a scratch warehouse database with a least-privilege role (tests/pg_warehouse.py).
"""

import psycopg
import pytest
from django.db import connection

from catalog.models import Connection
from checks.connectors import QueryTag, WarehouseError, clear_cache, connector_for
from checks.connectors.pg_session import CONNECT_FAILED
from checks.models import CheckResult
from orgs.models import Organization
from tests import pg_warehouse
from tests.security.attacker_pg import AttackerPostgres

pytestmark = [pytest.mark.postgres]

REDTEAM_DB = f"{pg_warehouse.WAREHOUSE_DB}_redteam"
REDTEAM_ADMIN_DSN = pg_warehouse.admin_dsn(REDTEAM_DB)
FILES_ROLE = f"{pg_warehouse.CHECKER_ROLE}_files"
INJECTION = (
    "SELECT '\\' , ' ; COMMIT; BEGIN READ WRITE; DELETE FROM orders; "
    "UPDATE orgs_organization SET plan = $$enterprise$$; COPY (SELECT 1) TO PROGRAM $$id$$; -- '"
)


@pytest.fixture(scope="module")
def warehouse():
    if not pg_warehouse.reachable():
        pytest.skip("needs the PostgreSQL server on 127.0.0.1:5432")
    pg_warehouse.create_warehouse(REDTEAM_DB)
    with psycopg.connect(REDTEAM_ADMIN_DSN, autocommit=True) as admin:
        pg_warehouse.ensure_role(admin, FILES_ROLE)
        admin.execute(f"GRANT pg_read_server_files TO {FILES_ROLE}")
        admin.execute(f"GRANT CONNECT ON DATABASE {REDTEAM_DB} TO {FILES_ROLE}")
    yield pg_warehouse.checker_dsn(dbname=REDTEAM_DB)
    clear_cache()
    pg_warehouse.drop_warehouse(REDTEAM_DB)


@pytest.fixture(autouse=True)
def _fresh_connectors():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def loopback_allowed(settings):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


def catalog_db() -> tuple[str, int]:
    return connection.settings_dict["NAME"], int(connection.settings_dict.get("PORT") or 5432)


def register(client, config, connection_id="pg-evil"):
    return client.post(
        "/api/v1/connections", {"id": connection_id, "type": "postgres", "config": config}, format="json"
    )


def execute(client, connection_id, sql="SELECT 0 AS violations"):
    return client.post(
        "/api/v1/checks/execute", {"connection_id": connection_id, "sql": sql, "check_id": "c"}, format="json"
    )


def snapshot():
    with psycopg.connect(REDTEAM_ADMIN_DSN) as admin:
        rows = admin.execute("SELECT order_id, amount, is_late FROM orders ORDER BY order_id").fetchall()
        tables = admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return rows, tables


def catalog_dsn(host: str) -> str:
    name, port = catalog_db()
    return f"postgresql://postgres@{host}:{port}/{name}"


# --- Registration: every spelling of "this machine" and of a non-public network -------------------------

SPELLINGS = [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("127.1", "loopback"),
    ("2130706433", "loopback"),
    ("0x7f000001", "loopback"),
    ("127.0.0.2", "loopback"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-in-IPv6"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (an address a tenant registers, not a bind)
    ("0", "unspecified"),
    ("10.1.2.3", "private-network"),
    ("172.16.0.1", "private-network"),
    ("192.168.0.10", "private-network"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("[fd12::1]", "unique-local"),
    ("[fe80::1]", "link-local"),
    ("224.0.0.1", "multicast"),
    ("192.0.2.1", "reserved"),
    ("%2Fvar%2Frun%2Fpostgresql", "unix socket"),
    ("%40abstract", "unix socket"),
    ("", "empty host"),
    ("db1.example.com,db2.example.com", "several hosts"),
]


@pytest.mark.parametrize(("host", "rule"), SPELLINGS)
def test_every_spelling_of_a_non_public_host_is_refused_at_registration(client_a, host, rule):
    name, port = catalog_db()
    netloc = f"postgres@{host}:{port}" if host else "postgres@"
    response = register(client_a, {"dsn": f"postgresql://{netloc}/{name}"})
    assert response.status_code == 400, response.content
    message = response.json()["config"][0]
    expected = {"empty host": "unix socket", "several hosts": "several hosts"}.get(rule, rule)
    assert expected in message, message
    assert not Connection.objects.unscoped().exists()


@pytest.mark.parametrize(
    "config",
    [
        {"dsn": "host=/var/run/postgresql dbname=x user=u"},
        {"dsn": "host=127.0.0.1 dbname=x user=u"},
        {"dsn": "postgresql://u@db.example.com/x?host=/var/run/postgresql"},
        {"dsn": "postgresql://u@db.example.com/x?host=127.0.0.1"},
        {"host": "localhost", "database": "x", "user": "u"},
        {"host": "::ffff:10.0.0.1", "database": "x", "user": "u"},
    ],
)
def test_key_value_dsns_query_string_hosts_and_config_keys_are_judged_too(client_a, config):
    response = register(client_a, config)
    assert response.status_code == 400, response.content
    assert any(word in response.json()["config"][0] for word in ("unix socket", "loopback", "private"))


@pytest.mark.parametrize(
    "parameter",
    [
        "options=-c%20standard_conforming_strings%3Doff",
        "hostaddr=127.0.0.1",
        "service=catalog",
        "passfile=%2Froot%2F.pgpass",
        "sslkey=%2Froot%2F.postgresql%2Fpostgresql.key",
        "sslcert=%2Fetc%2Fcert",
        "sslrootcert=%2Fetc%2Fssl%2Fprivate%2Fca.pem",
        "sslcrl=%2Fetc%2Fcrl",
        "sslcrldir=%2Fetc",
        "krbsrvname=postgres",
        "gssdelegation=1",
        "requirepeer=postgres",
        "target_session_attrs=read-write",
        "gssencmode=require",
        "load_balance_hosts=random",
    ],
)
def test_libpq_parameters_outside_the_allow_list_are_refused(client_a, parameter):
    response = register(client_a, {"dsn": f"postgresql://u@db.example.com/x?{parameter}"})
    assert response.status_code == 400, response.content
    assert (
        f"'{parameter.split('=')[0]}' is not allowed" in response.json()["config"][0]
        or "sslrootcert" in response.json()["config"][0]
    )


@pytest.mark.parametrize(
    "config",
    [
        {"dsn": "postgresql://u@db.example.com/x?options=-c%20standard_conforming_strings%3Doff"},
        {"dsn": "host=db.example.com dbname=x user=u options='-c standard_conforming_strings=off'"},
        {"host": "db.example.com", "database": "x", "user": "u", "options": "-c standard_conforming_strings=off"},
    ],
)
def test_session_options_are_refused_in_url_key_value_and_config_key(client_a, config):
    response = register(client_a, config)
    assert response.status_code == 400, response.content
    assert "options" in response.json()["config"][0]


def test_public_addresses_and_names_that_do_not_resolve_yet_are_accepted(client_a):
    assert register(client_a, {"host": "8.8.8.8", "database": "x", "user": "u"}, "pg-public").status_code == 201
    later = register(
        client_a, {"dsn": "postgresql://u@warehouse.invalid/x?sslmode=verify-full&sslrootcert=system"}, "pg-later"
    )
    assert later.status_code == 201, later.content


def test_with_loopback_allowed_the_catalogs_own_database_is_still_refused_at_registration(client_a, loopback_allowed):
    for host in ("127.0.0.1", "localhost", "127.0.0.2", "2130706433", "[::1]"):
        response = register(client_a, {"dsn": catalog_dsn(host)})
        assert response.status_code == 400, (host, response.content)
        assert "catalog's own database" in response.json()["config"][0]


# --- Execution: legacy rows stored before the rules -------------------------------------------------------


def _assert_refused_and_nothing_leaks(response, rule, world_b_marker):
    assert response.status_code == 400, response.content
    assert rule in response.json()["connection_id"][0]
    assert world_b_marker not in response.content.decode()
    assert not CheckResult.objects.unscoped().exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "[::1]"])
def test_a_legacy_row_on_the_catalogs_database_is_refused_at_execution(client_a, org_a, host):
    Connection.objects.create(
        organization=org_a, connection_id="pg-legacy", type="postgres", config={"dsn": catalog_dsn(host)}
    )
    sql = "SELECT CAST(string_agg(key_hash, ',') AS int) FROM orgs_apikey"
    _assert_refused_and_nothing_leaks(execute(client_a, "pg-legacy", sql), "loopback", "dxp_")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "[::1]"])
def test_with_loopback_allowed_a_legacy_row_on_the_catalogs_database_is_still_refused(
    client_a, org_a, host, loopback_allowed
):
    Connection.objects.create(
        organization=org_a, connection_id="pg-legacy", type="postgres", config={"dsn": catalog_dsn(host)}
    )
    response = execute(client_a, "pg-legacy", "SELECT CAST(string_agg(name, ',') AS int) FROM catalog_pipeline")
    _assert_refused_and_nothing_leaks(response, "catalog's own database", "orders_sync")


def test_a_legacy_unix_socket_row_is_refused_at_execution(client_a, org_a):
    name, _ = catalog_db()
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-sock",
        type="postgres",
        config={"dsn": f"host=/var/run/postgresql dbname={name} user=postgres"},
    )
    _assert_refused_and_nothing_leaks(execute(client_a, "pg-sock"), "unix socket", "dxp_")


def test_removing_a_network_from_the_allow_list_refuses_its_stored_connections(client_a, org_a, warehouse, settings):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    Connection.objects.create(organization=org_a, connection_id="pg-wh", type="postgres", config={"dsn": warehouse})
    assert execute(client_a, "pg-wh").status_code == 201
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = []
    response = execute(client_a, "pg-wh")
    assert response.status_code == 400 and "loopback" in response.json()["connection_id"][0]


# --- Roles, session options, one statement ------------------------------------------------------------------


def test_the_superuser_is_refused_on_an_allowed_warehouse(client_a, org_a, warehouse, loopback_allowed):
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-root",
        type="postgres",
        config={"dsn": pg_warehouse.checker_dsn(user="postgres", dbname=REDTEAM_DB)},
    )
    response = execute(client_a, "pg-root")
    assert response.status_code == 502, response.content
    message = response.json()["error_message"]
    assert "superuser" in message and "CREATE ROLE dataxpipe_checker" in message
    assert CheckResult.objects.unscoped().get().status == "error"


def test_a_member_of_pg_read_server_files_is_refused(client_a, org_a, warehouse, loopback_allowed):
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-files",
        type="postgres",
        config={"dsn": pg_warehouse.checker_dsn(user=FILES_ROLE, dbname=REDTEAM_DB)},
    )
    response = execute(client_a, "pg-files")
    assert response.status_code == 502, response.content
    assert "member of pg_read_server_files" in response.json()["error_message"]


def test_the_operator_may_allow_privileged_roles(client_a, org_a, warehouse, loopback_allowed, settings):
    settings.DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES = True
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-root",
        type="postgres",
        config={"dsn": pg_warehouse.checker_dsn(user="postgres", dbname=REDTEAM_DB)},
    )
    response = execute(client_a, "pg-root")
    assert (response.status_code, response.json()["status"]) == (201, "pass")


def test_the_standard_conforming_strings_injection_changes_nothing(client_a, org_a, warehouse, loopback_allowed):
    """The finding: with options=-c standard_conforming_strings=off the parser and PostgreSQL disagreed on where a
    literal ends, and DELETE / UPDATE plan / COPY TO PROGRAM ran. Stored as a legacy row with options, or sent
    as SQL on a legitimate connection: nothing changes."""
    before, plan = snapshot(), Organization.objects.get(pk=org_a.pk).plan
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-opts",
        type="postgres",
        config={"dsn": f"{warehouse}?options=-c%20standard_conforming_strings%3Doff"},
    )
    legacy = execute(client_a, "pg-opts", INJECTION)
    assert legacy.status_code == 400, legacy.content
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-key",
        type="postgres",
        config={"dsn": warehouse, "options": "-c standard_conforming_strings=off"},
    )
    Connection.objects.create(organization=org_a, connection_id="pg-ok", type="postgres", config={"dsn": warehouse})
    for connection_id in ("pg-key", "pg-ok"):
        response = execute(client_a, connection_id, INJECTION)
        assert response.status_code in (201, 400), response.content
        if response.status_code == 201:
            assert response.json()["status"] == "error"
    # Reaching the connector directly, the server reads it as what it is: one SELECT of two string literals.
    ok = Connection.objects.unscoped().get(connection_id="pg-ok")
    rows = connector_for(ok).fetch(INJECTION, max_rows=2, tag=QueryTag("org-a", "pg-ok")).rows
    assert rows == [("\\", INJECTION.split("' , '", 1)[1].removesuffix("'"))]
    assert snapshot() == before
    assert Organization.objects.get(pk=org_a.pk).plan == plan


def test_two_statements_reaching_the_connector_are_refused_by_the_server(org_a, warehouse, loopback_allowed):
    ok = Connection.objects.create(
        organization=org_a, connection_id="pg-ok", type="postgres", config={"dsn": warehouse}
    )
    before = snapshot()
    with pytest.raises(WarehouseError, match="cannot insert multiple commands into a prepared statement"):
        connector_for(ok).fetch("SELECT 1; DELETE FROM orders", max_rows=2, tag=QueryTag("org-a", "pg-ok"))
    with pytest.raises(WarehouseError):  # escaping the size-measuring wrapper is one more statement, refused too
        connector_for(ok).fetch(
            "SELECT 1 AS x\n) SELECT repeat('x', 10) --", max_rows=2, tag=QueryTag("org-a", "pg-ok")
        )
    assert snapshot() == before


def test_an_advisory_lock_taken_by_a_check_is_not_left_held(client_a, org_a, warehouse, loopback_allowed):
    ok = Connection.objects.create(
        organization=org_a, connection_id="pg-ok", type="postgres", config={"dsn": warehouse}
    )
    response = execute(client_a, "pg-ok", "SELECT pg_advisory_lock(4242) IS NULL AS violations")
    assert response.status_code in (201, 400)
    connector = connector_for(ok)
    connector.fetch("SELECT 0 FROM pg_advisory_lock(4242)", max_rows=2, tag=QueryTag("org-a", "pg-ok"))
    with psycopg.connect(REDTEAM_ADMIN_DSN) as admin:
        held = admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242").fetchone()
    assert held == (0,)
    assert connector.engine.pool.checkedin() == 1  # the session itself was kept, reset


# --- Uniform connect errors, local files of the catalog --------------------------------------------------


def test_connect_failures_all_answer_the_same_message(client_a, org_a, settings):
    """A closed port, a non-PostgreSQL banner and a blackholed address must not be told apart (port scanning)."""
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32", "192.0.2.0/24"]
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]
    with AttackerPostgres(mode="banner") as banner:
        targets = {
            "pg-closed": f"postgresql://u@127.0.0.1:{closed_port}/x",
            "pg-banner": f"postgresql://u@127.0.0.1:{banner.port}/x",
            "pg-blackhole": "postgresql://u@192.0.2.1:5432/x",
        }
        messages = {}
        for connection_id, dsn in targets.items():
            Connection.objects.create(
                organization=org_a,
                connection_id=connection_id,
                type="postgres",
                config={"dsn": dsn, "statement_timeout_seconds": 1},
            )
            response = execute(client_a, connection_id)
            assert response.status_code == 502, response.content
            messages[connection_id] = response.json()["error_message"]
    assert set(messages.values()) == {CONNECT_FAILED}, messages


def test_the_catalogs_pgpass_and_environment_password_are_never_sent(client_a, org_a, settings, tmp_path, monkeypatch):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    pgpass = tmp_path / ".pgpass"
    pgpass.write_text("*:*:*:*:catalog-pgpass-password\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.setenv("PGPASSWORD", "catalog-env-password")
    monkeypatch.setenv("PGOPTIONS", "-c standard_conforming_strings=off")
    with AttackerPostgres() as attacker:
        Connection.objects.create(
            organization=org_a,
            connection_id="pg-attacker",
            type="postgres",
            config={"dsn": f"postgresql://victim@127.0.0.1:{attacker.port}/x"},
        )
        response = execute(client_a, "pg-attacker")
    assert response.status_code == 502
    assert attacker.attempts, "the connector never reached the attacker's server"
    assert attacker.passwords == []
    startup = attacker.attempts[0].startup
    assert "standard_conforming_strings=on" in startup["options"]
    assert "default_transaction_read_only=on" in startup["options"]


def test_a_100_mb_value_is_an_error_result_and_never_reaches_the_worker(client_a, org_a, warehouse, loopback_allowed):
    import resource

    # A generous timeout: on a loaded machine the server needs a while to build and measure 100 MB.
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-big",
        type="postgres",
        config={"dsn": warehouse, "statement_timeout_seconds": 240},
    )
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    response = execute(
        client_a, "pg-big", "SELECT length(v) AS violations, v FROM (SELECT repeat('x', 100000000) AS v) AS big"
    )
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "error"
    assert "too large" in response.json()["error_message"]
    assert growth_mb < 50, f"the worker's peak memory grew by {growth_mb:.0f} MB"


def test_a_port_secret_that_is_not_a_number_is_a_clear_error_without_the_value(
    client_a, org_a, monkeypatch, loopback_allowed, caplog
):
    monkeypatch.setenv("DXP_REDTEAM_PORT", "5432-not-a-port-s3cr3t")
    Connection.objects.create(
        organization=org_a,
        connection_id="pg-port",
        type="postgres",
        config={"host": "127.0.0.1", "database": "x", "user": "u", "port_secret": "env:DXP_REDTEAM_PORT"},
    )
    response = execute(client_a, "pg-port")
    assert response.status_code == 400, response.content
    assert "port" in response.json()["connection_id"][0]
    assert "s3cr3t" not in response.content.decode() and "s3cr3t" not in caplog.text
