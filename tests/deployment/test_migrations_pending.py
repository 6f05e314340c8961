"""A database without its tables (a deployment whose release step has not run) is reported as such, on SQLite
and PostgreSQL: /ready 503 "migrations pending", the API 503 `migrations_pending`, the admin a plain 503."""

import json
import sqlite3
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.deployment.processes import manage, production, requests_in_process

REQUESTS = ("GET /health", "GET /ready", "GET /api/v1/organizations/me", "POST /admin/login/")


def assert_reported_as_migrations_pending(answers: dict) -> None:
    assert answers["GET /health"]["status"] == 200
    ready = answers["GET /ready"]
    assert ready["status"] == 503
    body = json.loads(ready["body"])
    assert body["status"] == "migrations pending"
    assert body["pending_migrations"] > 0
    assert "python manage.py migrate" in body["reason"]
    api = answers["GET /api/v1/organizations/me"]
    assert api["status"] == 503
    assert json.loads(api["body"])["code"] == "migrations_pending"
    assert "unavailable" not in api["body"]
    admin = answers["POST /admin/login/"]
    assert admin["status"] == 503
    assert "python manage.py migrate" in admin["body"]
    assert "Traceback" not in answers["log"]
    assert " ERROR " not in answers["log"]


def test_a_new_sqlite_database_is_not_ready_until_it_is_built(tmp_path):
    env = production(f"sqlite:///{tmp_path}/catalog.sqlite3")
    assert_reported_as_migrations_pending(requests_in_process(env, *REQUESTS))

    built = manage(env, "prepare_database")
    assert built.returncode == 0, built.stderr
    assert "Built the new embedded SQLite database from the models" in built.stdout

    answers = requests_in_process(env, "GET /ready", "GET /api/v1/organizations/me")
    assert json.loads(answers["GET /ready"]["body"]) == {"status": "ready", "database": "ok"}
    assert answers["GET /api/v1/organizations/me"]["status"] == 401  # the made-up key: the tables are there
    plan = manage(env, "showmigrations", "--plan").stdout
    assert "[X]" in plan and "[ ]" not in plan
    # An existing database takes the ordinary migrate.
    again = manage(env, "prepare_database")
    assert "No migrations to apply." in again.stdout


def test_the_embedded_build_makes_the_schema_of_the_real_migrations_for_a_later_migration(tmp_path):
    """A migration that comes after the fast build applies on top of it: here the real sessions migration."""
    path = tmp_path / "catalog.sqlite3"
    env = production(f"sqlite:///{path}")
    assert manage(env, "prepare_database").returncode == 0
    with sqlite3.connect(path) as database:
        database.execute("DELETE FROM django_migrations WHERE app = 'sessions'")
        database.execute("DROP TABLE django_session")
    ready = requests_in_process(env, "GET /ready")["GET /ready"]
    assert (ready["status"], json.loads(ready["body"])["pending_migrations"]) == (503, 1)

    again = manage(env, "prepare_database")
    assert "Applying sessions.0001_initial... OK" in again.stdout
    assert requests_in_process(env, "GET /ready")["GET /ready"]["status"] == 200


@pytest.fixture
def empty_postgres_database():
    server = settings.DATABASES["default"]
    name = f"dxp_unmigrated_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=server["HOST"],
        port=server["PORT"] or 5432,
        user=server["USER"],
        password=server["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    yield f"postgres://{server['USER']}{password}@{server['HOST']}:{server['PORT'] or 5432}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.postgres
def test_an_empty_postgres_database_is_reported_as_migrations_pending(empty_postgres_database):
    env = production(empty_postgres_database)
    assert_reported_as_migrations_pending(requests_in_process(env, *REQUESTS))


def test_an_unreachable_database_is_a_503_page_and_one_warning_not_a_traceback():
    env = production("postgres://postgres@127.0.0.1:9/catalog", DATABASE_CONNECT_TIMEOUT="1")

    answers = requests_in_process(env, "GET /api/v1/organizations/me", "POST /admin/login/")

    assert answers["GET /api/v1/organizations/me"]["status"] == 503
    assert json.loads(answers["GET /api/v1/organizations/me"]["body"])["code"] == "database_unavailable"
    assert answers["POST /admin/login/"]["status"] == 503
    assert "database is unavailable" in answers["POST /admin/login/"]["body"]
    assert "Traceback" not in answers["log"]
    assert " ERROR " not in answers["log"]
    assert answers["log"].count(" WARNING dataxpipe.errors ") == 2
