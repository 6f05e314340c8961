"""/api/v1/connections/: per-type validation, admin-only writes, and no password in any response."""

import logging

import pytest
from django.db import connection as db

from catalog.models import Connection
from catalog.secrets import resolve_connection_config
from orgs.models import Role

pytestmark = pytest.mark.django_db

PASSWORD = "S3cr3t-p@ss/w0rd"
DSN = "postgresql://etl:S3cr3t-p%40ss%2Fw0rd@db.internal:5432/orders?sslmode=require"
BIGQUERY = {"project": "acme-dw", "location": "EU", "dataset": "analytics", "maximum_bytes_billed": 10**10}
SNOWFLAKE = {
    "account": "acme-eu",
    "user": "checks",
    "warehouse": "CHECKS_WH",
    "database": "DW",
    "schema": "PUBLIC",
    "role": "CHECKER",
    "password_secret": "env:DATAXPIPE_SECRET_ORG_A_SNOWFLAKE_PASSWORD",
}


def create(client, connection_id="pg-prod", connection_type="postgres", config=None):
    body = {"id": connection_id, "type": connection_type, "config": config if config is not None else {"dsn": DSN}}
    return client.post("/api/v1/connections/", body, format="json")


def stored_rows():
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Connection._meta.db_table}")
        return repr(cursor.fetchall())


class TestDsnPassword:
    def test_password_is_moved_out_encrypted_and_never_shown(self, client_a):
        response = create(client_a)
        assert response.status_code == 201
        body = response.json()
        assert body["config"]["dsn"] == "postgresql://etl:********@db.internal:5432/orders?sslmode=require"
        assert body["has_dsn_password"] is True
        for text in (response.content.decode(), stored_rows()):
            assert PASSWORD not in text and "S3cr3t-p%40ss" not in text
        for path in [
            "/api/v1/connections/",
            "/api/v1/connections",
            "/api/v1/connections/pg-prod",
            "/api/v1/connections/pg-prod/",
        ]:
            shown = client_a.get(path)
            assert shown.status_code == 200
            assert "S3cr3t" not in shown.content.decode()

    def test_resolve_connection_config_restores_the_dsn(self, client_a):
        create(client_a)
        resolved = resolve_connection_config(Connection.objects.unscoped().get())
        assert resolved["dsn"] == DSN.replace("?sslmode=require", "?sslmode=require")
        import psycopg.conninfo

        assert psycopg.conninfo.conninfo_to_dict(resolved["dsn"])["password"] == PASSWORD

    def test_password_in_the_query_string_is_moved_out_too(self, client_a):
        response = create(client_a, config={"dsn": "postgresql://etl@db/orders?password=qs-secret&sslmode=require"})
        assert response.status_code == 201
        assert "qs-secret" not in response.content.decode() and "qs-secret" not in stored_rows()
        assert "qs-secret" in resolve_connection_config(Connection.objects.unscoped().get())["dsn"]

    def test_a_keyvalue_dsn_with_a_password_is_refused(self, client_a):
        response = create(client_a, config={"dsn": "host=db user=etl password=kv-secret dbname=orders"})
        assert response.status_code == 400
        assert "password_secret" in response.json()["config"][0]
        assert "kv-secret" not in response.content.decode()
        assert not Connection.objects.unscoped().exists()

    def test_a_malformed_url_dsn_is_refused_and_its_password_not_stored(self, client_a):
        """An unparseable URL (here a broken IPv6 host) keeps its password in the text: it must not be stored
        as a key=value DSN and shown back."""
        response = create(client_a, config={"dsn": "postgresql://etl:url-secret@[db/orders?sslmode=require"})
        assert response.status_code == 400
        assert "well-formed" in response.json()["config"][0]
        assert "url-secret" not in response.content.decode()
        assert not Connection.objects.unscoped().exists()

    @pytest.mark.parametrize(
        "dsn",
        [
            "postgresql://etl@db/orders?sslmode=verify-full&sslpassword=key-secret",
            "host=db user=etl dbname=orders sslpassword=key-secret",
        ],
    )
    def test_a_dsn_with_an_ssl_key_passphrase_is_refused(self, client_a, dsn):
        response = create(client_a, config={"dsn": dsn})
        assert response.status_code == 400
        assert "sslpassword" in response.json()["config"][0]
        assert "key-secret" not in response.content.decode()
        assert not Connection.objects.unscoped().exists()

    def test_putting_back_the_masked_dsn_keeps_the_password(self, client_a):
        shown = create(client_a).json()
        response = client_a.put(
            "/api/v1/connections/pg-prod", {"type": "postgres", "config": shown["config"]}, format="json"
        )
        assert response.status_code == 200
        assert PASSWORD in resolve_connection_config(Connection.objects.unscoped().get())["dsn"].replace(
            "%40", "@"
        ).replace("%2F", "/")

    def test_a_new_dsn_without_password_drops_the_stored_one(self, client_a):
        create(client_a)
        response = client_a.patch(
            "/api/v1/connections/pg-prod", {"config": {"dsn": "postgresql://ro@db/orders"}}, format="json"
        )
        assert response.json()["has_dsn_password"] is False
        assert resolve_connection_config(Connection.objects.unscoped().get())["dsn"] == "postgresql://ro@db/orders"

    def test_a_masked_dsn_for_a_new_connection_is_refused(self, client_a):
        response = create(client_a, config={"dsn": "postgresql://etl:********@db/orders"})
        assert response.status_code == 400

    def test_dsn_with_password_secret_resolves_into_the_dsn(self, client_a, monkeypatch):
        monkeypatch.setenv("DATAXPIPE_SECRET_ORG_A_PG_PROD_PASSWORD", "from-env")
        config = {"dsn": "postgresql://etl@db/orders", "password_secret": "env:DATAXPIPE_SECRET_ORG_A_PG_PROD_PASSWORD"}
        response = create(client_a, config=config)
        assert response.status_code == 201
        resolved = resolve_connection_config(Connection.objects.unscoped().get())
        assert resolved["dsn"] == "postgresql://etl:from-env@db/orders"
        assert resolved["password"] == "from-env"

    def test_no_log_line_carries_the_password(self, client_a, caplog):
        caplog.set_level(logging.DEBUG)
        create(client_a)
        client_a.get("/api/v1/connections/pg-prod")
        assert all("S3cr3t" not in record.getMessage() for record in caplog.records)


class TestValidation:
    @pytest.mark.parametrize(
        ("connection_type", "config"),
        [
            ("postgres", {"dsn": "postgresql://etl@db/orders"}),
            (
                "postgres",
                {
                    "host": "db",
                    "port": 5432,
                    "database": "orders",
                    "user": "etl",
                    "password_secret": "vault:secret/dataxpipe/org-a/pg#password",
                },
            ),
            ("sqlite", {"path": "demo.sqlite3"}),
            ("sqlite", {"path": "demo.sqlite3", "statement_timeout_seconds": 2.5}),
            ("postgres", {"dsn": "postgresql://etl@db/orders", "statement_timeout_seconds": 10}),
            ("snowflake", SNOWFLAKE),
            ("bigquery", {**BIGQUERY, "credentials_secret": "vault:kv/dataxpipe/org-a/gcp/checks#sa_json"}),
        ],
    )
    def test_each_type_accepts_its_config(self, client_a, connection_type, config):
        response = create(
            client_a, connection_id=f"{connection_type}-1", connection_type=connection_type, config=config
        )
        assert response.status_code == 201, response.content
        assert response.json()["config"] == config  # references are shown as references

    @pytest.mark.parametrize(
        ("body", "field", "fragment"),
        [
            ({"id": "x", "type": "oracle", "config": {}}, "type", "oracle"),
            ({"id": "not a slug!", "type": "sqlite", "config": {"path": "x.sqlite3"}}, "id", ""),
            ({"type": "sqlite", "config": {"path": "x.sqlite3"}}, "id", "required"),
            ({"id": "x", "type": "sqlite", "config": "path=x.sqlite3"}, "config", "object"),
            ({"id": "x", "type": "sqlite", "config": {}}, "config", "path: required"),
            ({"id": "x", "type": "postgres", "config": {"host": "db"}}, "config", "database, user: required"),
            (
                {"id": "x", "type": "postgres", "config": {"dsn": "postgresql://a@b/c", "host": "db"}},
                "config",
                "either a dsn",
            ),
            ({"id": "x", "type": "postgres", "config": {"dsn": "mysql-ish"}}, "config", "postgresql://"),
            (
                {"id": "x", "type": "postgres", "config": {"host": "db", "database": "d", "user": "u", "port": "5432"}},
                "config",
                "port: must be a positive integer",
            ),
            (
                {
                    "id": "x",
                    "type": "postgres",
                    "config": {"host": "db", "database": "d", "user": "u", "password": "plain"},
                },
                "config",
                "password_secret",
            ),
            (
                {"id": "x", "type": "postgres", "config": {"dsn": "postgresql://a@b/c", "password_secret": "hunter2"}},
                "config",
                "must be a secret reference",
            ),
            (
                {"id": "x", "type": "snowflake", "config": {**SNOWFLAKE, "password_secret": "vault:nofield"}},
                "config",
                "secret reference",
            ),
            (
                {"id": "x", "type": "snowflake", "config": {k: v for k, v in SNOWFLAKE.items() if k != "warehouse"}},
                "config",
                "warehouse: required",
            ),
            (
                {"id": "x", "type": "sqlite", "config": {"path": "x.sqlite3", "statement_timeout_seconds": 0}},
                "config",
                "positive number of seconds",
            ),
            (
                {"id": "x", "type": "bigquery", "config": {**BIGQUERY, "maximum_bytes_billed": "lots"}},
                "config",
                "maximum_bytes_billed",
            ),
            (
                {"id": "x", "type": "bigquery", "config": {k: v for k, v in BIGQUERY.items() if k != "project"}},
                "config",
                "project: required",
            ),
        ],
    )
    def test_bad_input_is_400_with_field_messages(self, client_a, body, field, fragment):
        response = client_a.post("/api/v1/connections/", body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert fragment in " ".join(response.json()[field])
        assert "hunter2" not in response.content.decode() and "plain" not in response.content.decode()
        assert not Connection.objects.unscoped().exists()

    def test_duplicate_id_is_409(self, client_a):
        create(client_a)
        response = create(client_a, config={"dsn": "postgresql://other@db/x"})
        assert response.status_code == 409
        assert Connection.objects.unscoped().get().config["dsn"].startswith("postgresql://etl@")

    def test_plan_limit_is_402_and_creates_nothing(self, client_a, settings):
        settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "team": {**settings.PLAN_LIMITS["team"], "connections": 1}}
        assert create(client_a).status_code == 201
        response = create(client_a, connection_id="second", connection_type="sqlite", config={"path": "x.sqlite3"})
        assert response.status_code == 402 and response.json()["limit"] == "connections"
        assert Connection.objects.unscoped().count() == 1


class TestUpdateAndDelete:
    def test_put_replaces_type_and_config(self, client_a):
        create(client_a)
        response = client_a.put(
            "/api/v1/connections/pg-prod/",
            {"id": "pg-prod", "type": "sqlite", "config": {"path": "w.sqlite3"}},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["type"] == "sqlite" and response.json()["has_dsn_password"] is False

    def test_patch_type_revalidates_the_stored_config(self, client_a):
        create(client_a)
        response = client_a.patch("/api/v1/connections/pg-prod", {"type": "bigquery"}, format="json")
        assert response.status_code == 400
        assert Connection.objects.unscoped().get().type == "postgres"

    def test_bad_update_changes_nothing(self, client_a):
        create(client_a)
        response = client_a.put(
            "/api/v1/connections/pg-prod", {"type": "postgres", "config": {"host": "x"}}, format="json"
        )
        assert response.status_code == 400
        stored = Connection.objects.unscoped().get()
        assert stored.config["dsn"].startswith("postgresql://etl@") and stored.encrypted_dsn_password

    def test_id_cannot_change(self, client_a):
        create(client_a)
        response = client_a.put(
            "/api/v1/connections/pg-prod",
            {"id": "renamed", "type": "postgres", "config": {"dsn": "postgresql://a@b/c"}},
            format="json",
        )
        assert response.status_code == 400 and "id" in response.json()

    def test_delete(self, client_a):
        create(client_a)
        assert client_a.delete("/api/v1/connections/pg-prod").status_code == 204
        assert client_a.get("/api/v1/connections/pg-prod").status_code == 404


class TestRolesAndTenancy:
    @pytest.mark.parametrize("role", [Role.READ, Role.WRITE])
    def test_writes_need_the_admin_role(self, client_a, make_client, org_a, role):
        create(client_a)
        client = make_client(org_a, role)
        assert create(client, connection_id="other").status_code == 403
        assert (
            client.put(
                "/api/v1/connections/pg-prod", {"type": "sqlite", "config": {"path": "x.sqlite3"}}, format="json"
            ).status_code
            == 403
        )
        assert client.patch("/api/v1/connections/pg-prod", {"type": "sqlite"}, format="json").status_code == 403
        assert client.delete("/api/v1/connections/pg-prod").status_code == 403
        assert client.get("/api/v1/connections/pg-prod").status_code == 200
        assert Connection.objects.unscoped().get().type == "postgres"

    def test_other_organizations_connection_is_404_and_unchanged(self, client_a, client_b):
        create(client_a)
        assert client_b.get("/api/v1/connections/pg-prod").status_code == 404
        assert (
            client_b.put(
                "/api/v1/connections/pg-prod", {"type": "sqlite", "config": {"path": "x.sqlite3"}}, format="json"
            ).status_code
            == 404
        )
        assert client_b.patch("/api/v1/connections/pg-prod", {"type": "sqlite"}, format="json").status_code == 404
        assert client_b.delete("/api/v1/connections/pg-prod").status_code == 404
        assert client_b.get("/api/v1/connections/").json()["count"] == 0
        assert Connection.objects.unscoped().get().type == "postgres"

    def test_same_id_in_another_organization_is_its_own_connection(self, client_a, client_b):
        assert create(client_a).status_code == 201
        assert create(client_b, config={"dsn": "postgresql://b@db/b"}).status_code == 201
        assert client_a.get("/api/v1/connections/pg-prod").json()["has_dsn_password"] is True
        assert client_b.get("/api/v1/connections/pg-prod").json()["has_dsn_password"] is False


def test_connection_list_query_count_does_not_grow(client_a, org_a, django_assert_num_queries):
    from catalog import services

    def add(index):
        services.create_connection(
            organization=org_a, connection_id=f"c{index}", connection_type="sqlite", config={"path": f"{index}.sqlite3"}
        )

    add(0)
    client_a.get("/api/v1/connections/")
    with django_assert_num_queries(3) as few:  # key, count, page
        client_a.get("/api/v1/connections/")
    for index in range(1, 10):
        add(index)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client_a.get("/api/v1/connections/").json()["results"]) == 10


class TestSecretReferenceScope:
    """References must point into the caller's own namespace (catalog.secrets); the 400 says the rule."""

    @pytest.mark.parametrize(
        ("reference", "fragment"),
        [
            ("env:DJANGO_SECRET_KEY", "DATAXPIPE_SECRET_ORG_A_<NAME>"),
            ("env:DATABASE_URL", "DATAXPIPE_SECRET_ORG_A_<NAME>"),
            ("env:DATAXPIPE_SECRET_ORG_B_PW", "DATAXPIPE_SECRET_ORG_A_<NAME>"),
            ("env:DATAXPIPE_SECRET_ORG_A_", "DATAXPIPE_SECRET_ORG_A_<NAME>"),
            ("env:DATAXPIPE_SECRET_ORG_A_pw", "NAME: A-Z, 0-9, _"),
            ("vault:secret/dataxpipe/org-b/pg#password", "under dataxpipe/org-a/"),
            ("vault:secret/dataxpipe/org-a/../org-b/pg#password", "'..' segments"),
            ("vault:secret/dataxpipe/org-a//pg#password", "empty"),
            ("vault:secret/dataxpipe/org-a#password", "under dataxpipe/org-a/"),
            ("vault:secret/warehouses/pg#password", "under dataxpipe/org-a/"),
        ],
    )
    def test_a_reference_outside_the_namespace_is_a_400_naming_the_rule(self, client_a, reference, fragment):
        response = create(client_a, config={"dsn": "postgresql://etl@db/orders", "password_secret": reference})
        assert response.status_code == 400, response.content
        assert fragment in response.json()["config"][0]
        assert not Connection.objects.unscoped().exists()

    def test_the_same_reference_is_fine_for_its_own_organization(self, client_b):
        config = {"dsn": "postgresql://etl@db/orders", "password_secret": "env:DATAXPIPE_SECRET_ORG_B_PW"}
        assert create(client_b, config=config).status_code == 201
        config["password_secret"] = "vault:secret/dataxpipe/org-b/pg#password"
        assert create(client_b, connection_id="pg-vault", config=config).status_code == 201


class TestSqlitePathScope:
    @pytest.mark.parametrize("path", ["../org-b/x.sqlite3", "/etc/passwd", "/tmp/x.sqlite3", "sub/../../x.sqlite3"])
    def test_a_path_outside_the_organizations_directory_is_a_400(self, client_a, settings, tmp_path, path):
        settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
        response = create(client_a, connection_id="lite", connection_type="sqlite", config={"path": path})
        assert response.status_code == 400, response.content
        assert "<allowed dir>/org-a/" in response.json()["config"][0]
        assert not Connection.objects.unscoped().exists()

    def test_an_absolute_path_inside_the_organizations_directory_is_stored(self, client_a, settings, tmp_path):
        settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
        path = str(tmp_path / "org-a" / "shop.sqlite3")
        response = create(client_a, connection_id="lite", connection_type="sqlite", config={"path": path})
        assert response.status_code == 201, response.content
        assert response.json()["config"] == {"path": path}


class TestStoredPasswordStaysPut:
    """A stored DSN password goes only to the server and login it was given for."""

    @pytest.mark.parametrize(
        "masked_dsn",
        [
            "postgresql://etl:********@attacker.example:5432/orders?sslmode=require",
            "postgresql://etl:********@db.internal:6543/orders?sslmode=require",
            "postgresql://other:********@db.internal:5432/orders?sslmode=require",
            "postgresql://etl:********@db.internal:5432/postgres?sslmode=require",
            "postgresql://etl:********@db.internal:5432/orders?sslmode=require&host=attacker.example",
            "postgresql://etl:********@db.internal:5432/orders?sslmode=disable",
        ],
    )
    def test_the_masked_dsn_pointing_elsewhere_is_a_400_and_keeps_everything(self, client_a, masked_dsn):
        create(client_a)
        before = Connection.objects.unscoped().get()
        response = client_a.patch("/api/v1/connections/pg-prod/", {"config": {"dsn": masked_dsn}}, format="json")
        assert response.status_code == 400, response.content
        assert "send the password again" in response.json()["config"][0]
        after = Connection.objects.unscoped().get()
        assert (after.config, after.encrypted_dsn_password) == (before.config, before.encrypted_dsn_password)

    def test_the_masked_dsn_unchanged_with_a_new_timeout_keeps_the_password(self, client_a):
        shown = create(client_a).json()["config"]
        response = client_a.patch(
            "/api/v1/connections/pg-prod/", {"config": {**shown, "statement_timeout_seconds": 7}}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["has_dsn_password"] is True
        assert "db.internal" in resolve_connection_config(Connection.objects.unscoped().get())["dsn"]

    def test_a_new_host_with_its_own_password_stores_that_one(self, client_a):
        create(client_a)
        dsn = "postgresql://etl:Fresh-p4ssword-for-db2@db2.internal/orders"
        response = client_a.patch("/api/v1/connections/pg-prod/", {"config": {"dsn": dsn}}, format="json")
        assert response.status_code == 200
        assert resolve_connection_config(Connection.objects.unscoped().get())["dsn"] == dsn

    def test_host_fields_instead_of_the_dsn_drop_the_stored_password(self, client_a):
        create(client_a)
        config = {"host": "attacker.example", "database": "orders", "user": "etl"}
        response = client_a.patch("/api/v1/connections/pg-prod/", {"config": config}, format="json")
        assert (response.status_code, response.json()["has_dsn_password"]) == (200, False)
        assert Connection.objects.unscoped().get().encrypted_dsn_password == ""
