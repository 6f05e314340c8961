"""Probes for any Host, compressed static files, API docs that load nothing from outside."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings

CONTAINER_ADDRESS = "10.42.0.17:8000"  # what Kubernetes, Docker and load balancers put in Host


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/health/", "/ready", "/ready/"])
def test_probes_answer_whatever_the_host_header_says(client, path):
    response = client.get(path, HTTP_HOST=CONTAINER_ADDRESS)

    assert response.status_code == 200
    assert response.json()["status"] in ("ok", "ready")


@pytest.mark.django_db
def test_every_other_path_still_refuses_a_host_not_allowed(client):
    assert client.get("/api/v1/organizations/me", HTTP_HOST=CONTAINER_ADDRESS).status_code == 400
    assert client.get("/admin/login/", HTTP_HOST=CONTAINER_ADDRESS).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/x", "/healthz", "//health", "/ready//", "/static/../ready", "/admin/ready"])
def test_a_path_that_only_looks_like_a_probe_still_refuses_a_host_not_allowed(client, path):
    """The any-Host rule is an exact match on the two probe paths, not a prefix an attacker can extend."""
    assert client.get(path, HTTP_HOST="attacker.example").status_code == 400


def test_collectstatic_writes_hashed_and_compressed_files(tmp_path):
    production_storage = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    with override_settings(
        STATIC_ROOT=tmp_path, STORAGES={"staticfiles": {"BACKEND": production_storage}}, DEBUG=False
    ):
        call_command("collectstatic", interactive=False, verbosity=0)

    assert (tmp_path / "staticfiles.json").is_file()
    hashed_css = [path for path in (tmp_path / "admin" / "css").glob("base.*.css") if path.name != "base.css"]
    assert hashed_css, "no hashed copy of admin/css/base.css"
    assert hashed_css[0].with_name(hashed_css[0].name + ".gz").is_file()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_load_only_files_the_service_serves(client, path):
    page = client.get(path).content.decode()

    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert linked, "the page links no script"
    assert not [url for url in linked if "//" in url], "an address outside the service"
    assert "fonts.googleapis.com" not in page
    for url in linked:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not among the static files"
