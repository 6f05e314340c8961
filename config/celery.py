"""The Celery application: `celery -A config worker` runs check executions, `celery -A config beat` the
periodic work (lease expiry). Settings are the CELERY_* names of config/settings.py.

Without CELERY_BROKER_URL nothing here is used: executions run in an in-process pool (checks/dispatch.py).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dataxpipe")
app.config_from_object("django.conf:settings", namespace="CELERY")
# A string, not an import: config stays below the apps.
app.autodiscover_tasks(["checks", "catalog", "alerts", "workflows"])
