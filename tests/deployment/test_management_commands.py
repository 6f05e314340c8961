"""Management commands as a person types them: a missing setting or an unusable database is a sentence
saying what to do, not a traceback; the first organization and its admin key are one command."""

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from orgs.models import Organization
from tests.deployment.processes import environment, manage, production, run


def test_create_api_key_as_the_readme_once_wrote_it_says_what_to_set():
    result = manage(environment(), "create_api_key", "demo", "ops", "--role", "admin")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Configuration error: The environment variable DJANGO_SECRET_KEY is required." in result.stderr
    assert "DJANGO_DEBUG=1 .venv/bin/python manage.py create_api_key demo ops --role admin" in result.stderr


def python_without_django() -> str | None:
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and run(environment(), candidate, "-c", "import django").returncode != 0:
            return candidate
    return None


@pytest.mark.skipif(python_without_django() is None, reason="every python3 on this machine has Django")
def test_a_python_without_django_is_pointed_at_the_virtualenv():
    result = run(environment(), python_without_django(), "manage.py", "create_api_key", "demo", "ops")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Django is not installed for this Python" in result.stderr
    assert ".venv/bin/python manage.py create_api_key demo ops" in result.stderr


def test_a_missing_allowed_hosts_is_one_line_too():
    result = manage(environment(DJANGO_SECRET_KEY="s" * 50), "create_org", "acme")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is off." in result.stderr


def test_an_unreachable_database_is_named_without_its_password():
    env = production("postgres://catalog:hunter2-not-shown@127.0.0.1:9/catalog", DATABASE_CONNECT_TIMEOUT="1")

    result = manage(env, "create_org", "acme")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Cannot use the catalog database at 127.0.0.1:9/catalog" in result.stderr
    assert "Check DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_a_database_without_its_tables_says_to_run_the_release_step(tmp_path):
    result = manage(production(f"sqlite:///{tmp_path}/new.sqlite3"), "create_org", "acme")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "migrations this version needs" in result.stderr
    assert "python manage.py migrate" in result.stderr


def command_output(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
def test_first_organization_and_its_admin_key_in_one_command():
    lines = command_output("create_org", "acme", "--name", "Acme Corp", "--admin-key", "first-admin")

    full_key = lines[-1]
    response = APIClient(HTTP_X_API_KEY=full_key).get("/api/v1/organizations/me")
    assert response.status_code == 200
    assert (response.json()["slug"], response.json()["role"]) == ("acme", "admin")
    assert "Created organization acme" in lines[0]


@pytest.mark.django_db
def test_a_refused_first_organization_leaves_nothing_behind():
    with pytest.raises(CommandError, match="slug"):
        command_output("create_org", "not a slug", "--admin-key", "first-admin")
    command_output("create_org", "acme")
    with pytest.raises(CommandError):
        command_output("create_org", "acme", "--admin-key", "second-admin")
    assert Organization.objects.get(slug="acme").api_keys.count() == 0
