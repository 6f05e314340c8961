"""The Celery application: `celery -A config worker` runs check executions, `celery -A config beat` the
periodic work (lease expiry). Settings are the CELERY_* names of config/settings.py.

Without CELERY_BROKER_URL nothing here is used: executions run in an in-process pool (checks/dispatch.py).
"""

import os

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dataxpipe")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every installed app's tasks module, found lazily (config stays below the apps): the same discovery as the
# embedded beat's (config/embedded_beat.py), so a new app's tasks need no list kept here.
app.autodiscover_tasks()

# Celery's Django fix-up closes every database connection before and after each task unless CELERY_DB_REUSE_MAX
# says otherwise: each check execution then paid a new PostgreSQL connection (a backend fork, ~10 ms) before it
# started. Connections are kept the way web requests keep them instead: CONN_MAX_AGE and the health checks of
# close_old_connections, before and after every task.
app.conf.CELERY_DB_REUSE_MAX = 2**62


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_old_connections(sender=None, **_kwargs) -> None:
    # Not for a task applied in the caller's thread (task.apply(): the embedded beat, tests): its connection and
    # transaction are the caller's, as the fix-up itself leaves them.
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
