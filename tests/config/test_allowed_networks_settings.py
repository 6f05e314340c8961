"""The egress allow-lists (DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS, DATAXPIPE_ALERT_ALLOWED_NETWORKS) are checked at
start-up: a value that is not a CIDR stops the process naming the variable, instead of failing (or, worse, being
half-applied) at the first registration or delivery."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts.http_egress import ALERT_DESTINATIONS
from catalog.egress import WAREHOUSES
from config.env import env_networks

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS", "DATAXPIPE_ALERT_ALLOWED_NETWORKS"]


@pytest.mark.parametrize("name", SETTINGS)
def test_unset_means_public_addresses_only_and_cidrs_are_read(monkeypatch, name):
    monkeypatch.delenv(name, raising=False)
    assert env_networks(name) == []
    monkeypatch.setenv(name, " 10.20.0.0/16, fd00::/8 ,")
    assert env_networks(name) == ["10.20.0.0/16", "fd00::/8"]


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("raw", ["10.20.0.0/33", "internal", "10.20.0.0/16;10.30.0.0/16"])
def test_a_bad_cidr_is_refused_naming_the_variable(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured, match=name):
        env_networks(name)


@pytest.mark.parametrize("name", SETTINGS)
def test_a_bad_cidr_stops_start_up(name):
    env = {**os.environ, "DJANGO_DEBUG": "1", name: "10.20.0.0/33"}
    done = subprocess.run(
        [sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and name in done.stderr


def test_each_destination_kind_reads_its_own_setting(settings):
    settings.DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["192.168.5.0/24"]
    assert [str(network) for network in WAREHOUSES.networks()] == ["10.20.0.0/16"]
    assert [str(network) for network in ALERT_DESTINATIONS.networks()] == ["192.168.5.0/24"]
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["bogus"]
    with pytest.raises(ImproperlyConfigured, match="DATAXPIPE_ALERT_ALLOWED_NETWORKS"):
        ALERT_DESTINATIONS.networks()
