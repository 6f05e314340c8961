"""Settings for the test suite: production settings (DEBUG off) with test-only defaults."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from config.settings import *  # noqa: F403

# No secret anywhere (tests/security/recorder.py): every response body and log line of the suite
# is copied for a scan at the end of each test. Test-only; never in production settings.
MIDDLEWARE = ["tests.security.recorder.RecordingMiddleware", *MIDDLEWARE]  # noqa: F405
LOGGING["handlers"]["secret_recorder"] = {  # noqa: F405
    "class": "tests.security.recorder.RecordingHandler",
    "formatter": "plain",
    "filters": ["redact_secrets"],
}
LOGGING["root"]["handlers"] = [*LOGGING["root"]["handlers"], "secret_recorder"]  # noqa: F405

# Pages render {% static %} without a collectstatic run: the manifest storage needs one (the Dockerfile's
# build step does it; tests/config/test_static_files.py runs it once to prove the compression).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

# The suite's tests wrap each test in a transaction that another thread cannot see: executions run in the
# caller's thread unless a test (tests/checks/test_executions_*.py) picks the pool or a broker itself.
CHECK_EXECUTION_BACKEND = os.environ.get("CHECK_EXECUTION_BACKEND", "inline")
