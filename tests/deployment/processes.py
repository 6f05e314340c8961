"""The project as a deployment runs it: fresh processes with production settings (DEBUG off), real databases."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker-entrypoint.sh"
ALLOWED_HOST = "catalog.example.com"

# The test client, in a process of its own: migration state is read from disk there (the suite's own
# process runs with migrations disabled), and the settings are production's.
_REQUESTS = """
import django, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.test import Client
client = Client(HTTP_HOST=sys.argv[1], raise_request_exception=False)
answers = {}
for request in json.loads(sys.argv[2]):
    method, path = request.split(" ", 1)
    # A POST is a sign-in attempt (the admin's login form); every request carries a made-up API key.
    data = {"username": "admin", "password": "not-the-password"} if method == "POST" else None
    response = getattr(client, method.lower())(path, data, HTTP_X_API_KEY="dxp_" + "a" * 48)
    answers[request] = {"status": response.status_code, "body": response.content.decode()}
print(json.dumps(answers))
"""


def environment(**variables) -> dict:
    """This machine's environment without any of the project's settings, plus `variables`."""
    prefixes = ("DJANGO_", "DATABASE_", "DATAXPIPE_", "GUNICORN_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    env["PYTHON"] = sys.executable  # the entrypoint's interpreter: this virtualenv's
    env.update(variables)
    return env


def production(database_url: str, **variables) -> dict:
    return environment(
        DJANGO_SECRET_KEY="deployment-test-secret-" + "k" * 30,
        DJANGO_ALLOWED_HOSTS=ALLOWED_HOST,
        DATABASE_URL=database_url,
        **variables,
    )


def run(env: dict, *command: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run(env, sys.executable, "manage.py", *args)


def entrypoint(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run(env, "sh", str(ENTRYPOINT), *args)


def requests_in_process(env: dict, *requests: str, host: str = ALLOWED_HOST) -> dict:
    """{"GET /ready": {"status": 503, "body": "..."}, ..., "log": "<the process's log lines>"} as a fresh
    process with `env` answers them."""
    result = run(env, sys.executable, "-c", _REQUESTS, host, json.dumps(requests))
    assert result.returncode == 0, result.stderr
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "log": result.stderr}
