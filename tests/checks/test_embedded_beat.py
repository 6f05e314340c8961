"""The embedded beat (config/embedded_beat.py): without a broker, every CELERY_BEAT_SCHEDULE entry runs
in-process at its interval, one process of the box being the beat; executions a restart left queued are
admitted when it starts."""

import fcntl
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import shared_task

from checks.models import CheckExecution, ExecutionState
from config import embedded_beat
from tests.checks.factories import make_connection
from tests.checks.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
ticks: list[str] = []
ticks_lock = threading.Lock()


@shared_task(name="tests.beat_probe")
def beat_probe(label: str) -> None:
    with ticks_lock:
        ticks.append(label)


@shared_task(name="tests.beat_failing_probe")
def beat_failing_probe() -> None:
    with ticks_lock:
        ticks.append("failing")
    raise RuntimeError("this entry always fails")


def ticks_of(label: str) -> int:
    with ticks_lock:
        return ticks.count(label)


@pytest.fixture(autouse=True)
def beat(settings, tmp_path):
    settings.EMBEDDED_BEAT_LOCK_FILE = str(tmp_path / "embedded-beat.lock")
    with ticks_lock:
        ticks.clear()
    yield
    embedded_beat.stop()


def test_every_entry_runs_by_task_name_at_its_interval_and_a_failing_one_stops_nothing(settings):
    settings.CELERY_BEAT_SCHEDULE = {
        "seconds": {"task": "tests.beat_probe", "schedule": 0.2, "args": ("seconds",)},
        "timedelta": {"task": "tests.beat_probe", "schedule": timedelta(milliseconds=300), "args": ("timedelta",)},
        "failing": {"task": "tests.beat_failing_probe", "schedule": 0.2},
        "unknown": {"task": "tests.no_such_task", "schedule": 0.2},
    }
    started = time.monotonic()
    assert embedded_beat.start(run_now=False)
    assert not embedded_beat.start(run_now=False), "one beat per process"
    wait_for(lambda: ticks_of("seconds") >= 3 and ticks_of("timedelta") >= 2 and ticks_of("failing") >= 3, seconds=10)
    assert time.monotonic() - started >= 0.55  # at its interval, not in a loop

    embedded_beat.stop()
    assert not embedded_beat.running()
    stopped_at = len(ticks)
    time.sleep(0.5)
    assert len(ticks) == stopped_at


def test_run_now_runs_every_entry_once_when_the_beat_starts(settings):
    settings.CELERY_BEAT_SCHEDULE = {"hourly": {"task": "tests.beat_probe", "schedule": 3600.0, "args": ("hourly",)}}
    embedded_beat.start(run_now=True)
    wait_for(lambda: ticks_of("hourly") == 1, seconds=5)
    time.sleep(0.3)
    assert ticks_of("hourly") == 1


def test_one_process_of_the_box_is_the_beat_and_another_takes_over_when_it_exits(settings):
    settings.CELERY_BEAT_SCHEDULE = {"fast": {"task": "tests.beat_probe", "schedule": 0.1, "args": ("fast",)}}
    # Another process of the box holds the lock (another open file: flock sees a different holder).
    other = open(settings.EMBEDDED_BEAT_LOCK_FILE, "a")  # noqa: SIM115
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        embedded_beat.start(run_now=True)
        time.sleep(0.6)
        assert ticks_of("fast") == 0, "only the process holding the lock runs the entries"
    finally:
        other.close()  # that process exits
    wait_for(lambda: ticks_of("fast") >= 2, seconds=embedded_beat.TAKE_OVER_SECONDS + 5)


@pytest.mark.django_db(transaction=True)
def test_queued_executions_left_by_a_restart_are_admitted_when_the_beat_starts(settings, org_a, sqlite_warehouse):
    settings.CHECK_EXECUTION_BACKEND = "inline"  # admitted executions run in the beat's thread here
    make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})
    sql = "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"
    left = CheckExecution.objects.create(
        organization=org_a,
        execution_id="exe-0123456789abcdef0123",
        check_id="chk",
        connection_id="shop",
        request={"check_id": "chk", "connection_id": "shop", "sql": sql},
    )
    assert "reap-check-executions" in settings.CELERY_BEAT_SCHEDULE  # the real schedule, by task name
    embedded_beat.start(run_now=True)
    wait_for(lambda: CheckExecution.objects.unscoped().get(pk=left.pk).state == ExecutionState.DONE, seconds=15)
    done = CheckExecution.objects.unscoped().select_related("result").get(pk=left.pk)
    assert (done.result.status, done.result.violations) == ("fail", 1)


@pytest.mark.parametrize(("broker", "expected"), [("", "True"), ("amqp://guest:guest@127.0.0.1:5672//", "False")])
def test_the_web_process_starts_the_beat_only_without_a_broker(tmp_path, broker, expected):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "EMBEDDED_BEAT_LOCK_FILE": str(tmp_path / "beat.lock"),
    }
    env.pop("CHECK_EXECUTION_BACKEND", None)
    script = "import config.wsgi\nfrom config import embedded_beat\nprint(embedded_beat.running())"
    answer = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert answer.stdout.strip().splitlines()[-1] == expected


@pytest.mark.django_db
def test_a_worker_registers_the_task_of_every_beat_entry():
    """The worker's discovery (every installed app's tasks, config/celery.py) finds what the beat sends it."""
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    missing = {spec["task"] for spec in settings.CELERY_BEAT_SCHEDULE.values()} - set(app.tasks)
    assert not missing
