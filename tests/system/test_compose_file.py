"""docker-compose.yml describes the production topology the README tells operators to run (no docker engine
on CI: the file is checked as data)."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_web_worker_beat_postgres_and_rabbitmq_are_described():
    found = services()
    assert {"web", "worker", "beat", "postgres", "rabbitmq"} <= set(found)
    assert found["web"]["command"][0] == "gunicorn"
    assert found["worker"]["command"][:5] == ["celery", "-A", "config", "worker", "-Q"]
    assert found["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_every_app_node_shares_the_database_and_the_broker():
    found = services()
    for name in ("web", "worker", "beat", "migrate"):
        environment = found[name]["environment"]
        assert (
            environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
        )
        assert (
            environment["CELERY_BROKER_URL"].startswith("amqp://")
            and "@rabbitmq:5672" in environment["CELERY_BROKER_URL"]
        )
        assert "DJANGO_SECRET_KEY" in environment
    for name in ("web", "worker", "beat"):
        assert found[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_no_state_lives_in_a_web_node_or_worker():
    found = services()
    for name in ("web", "worker", "beat"):
        assert "volumes" not in found[name], f"{name} must be stateless to scale out"
