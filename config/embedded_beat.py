"""The embedded beat: without a broker (`make run`, one box), what `celery -A config beat` does, in-process.

A daemon thread runs every entry of CELERY_BEAT_SCHEDULE locally (`app.tasks[name].apply()`, in this thread)
at its schedule (seconds, a timedelta or a Celery schedule such as crontab). Entries are found by task name:
an app adds periodic work with a task and a schedule entry, nothing here. Started by the web process in the
embedded mode (config/wsgi.py) and by the in-process execution pool (checks/dispatch.py); stopped by stop().

Gunicorn runs several worker processes: a lock file makes one of them the beat, the others wait to take
over if it exits. With `run_now`, every entry runs once when the beat starts (work left from before a
restart, such as executions still queued, does not wait for the first interval).
"""

import fcntl
import logging
import threading
from datetime import datetime
from pathlib import Path

from celery.schedules import maybe_schedule
from django.apps import apps as django_apps
from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

# How often a process that is not the beat tries to become it, and the longest sleep between checks.
TAKE_OVER_SECONDS = 5.0

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopping = threading.Event()


def start(*, run_now: bool = True) -> bool:
    """Starts this process's beat thread unless one runs; returns whether this call started it."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return False
        _stopping.clear()
        _thread = threading.Thread(target=_run, args=(_stopping, run_now), name="embedded-beat", daemon=True)
        _thread.start()
        return True


def stop(timeout: float = 30) -> None:
    """Stops the beat thread after the entry it is running, if any (tests; an orderly exit)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
        _stopping.set()
    if thread is not None:
        thread.join(timeout)


def running() -> bool:
    return _thread is not None and _thread.is_alive()


class _Entry:
    def __init__(self, name: str, spec: dict, app):
        self.name = name
        self.task = spec["task"]
        self.schedule = maybe_schedule(spec["schedule"], relative=False, app=app)
        self.args = tuple(spec.get("args", ()))
        self.kwargs = dict(spec.get("kwargs", {}))
        self.last_run_at: datetime = self.schedule.now()

    def due(self) -> tuple[bool, float]:
        return self.schedule.is_due(self.last_run_at)


def _entries(app) -> list[_Entry]:
    # The web process imports no tasks module of its own: Celery's discovery (what a worker does, without
    # its start-up system checks) registers every installed app's tasks, found by name like the worker's.
    app.loader.autodiscover_tasks([config.name for config in django_apps.get_app_configs()])
    entries = []
    for name, spec in settings.CELERY_BEAT_SCHEDULE.items():
        try:
            entries.append(_Entry(name, spec, app))
        except Exception:
            logger.exception("beat entry %s has a schedule the embedded beat cannot read; skipped", name)
    return entries


def _apply(app, entry: _Entry) -> None:
    entry.last_run_at = entry.schedule.now()
    close_old_connections()
    try:
        task = app.tasks.get(entry.task)
        if task is None:
            logger.error("beat entry %s names task %s, which no app registers", entry.name, entry.task)
            return
        outcome = task.apply(args=entry.args, kwargs=entry.kwargs)
        if outcome.failed():
            logger.error("beat entry %s (%s) failed: %s", entry.name, entry.task, type(outcome.result).__name__)
    except Exception:
        logger.exception("beat entry %s (%s) failed", entry.name, entry.task)
    finally:
        # The beat thread must not keep connections between runs (SQLite closes after each use anyway).
        connections.close_all()


def _lock_file():
    """This process's hold on the beat, or None while another process of this box has it."""
    path = Path(settings.EMBEDDED_BEAT_LOCK_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 (held open for as long as this process is the beat)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _run(stopping: threading.Event, run_now: bool) -> None:
    from config.celery import app

    held = None
    try:
        while held is None:
            held = _lock_file()
            if held is None and stopping.wait(TAKE_OVER_SECONDS):
                return
        entries = _entries(app)
        if run_now:
            for entry in entries:
                if stopping.is_set():
                    return
                _apply(app, entry)
        while not stopping.is_set():
            sleep = TAKE_OVER_SECONDS
            for entry in entries:
                if stopping.is_set():
                    return
                is_due, next_check = entry.due()
                if is_due:
                    _apply(app, entry)
                    _is_due, next_check = entry.due()
                sleep = min(sleep, max(0.05, next_check))
            stopping.wait(sleep)
    except Exception:
        logger.exception("the embedded beat stopped")
    finally:
        if held is not None:
            held.close()
