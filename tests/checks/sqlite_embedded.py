"""Run as a program by test_executions_sqlite.py: the embedded mode on a SQLite *file* (as `make run` uses).

Settings: config.test_settings without migrations (tables made from the models, in seconds), the
in-process thread pool. Argv: the SQLite file, the PostgreSQL warehouse DSN. Prints one JSON line.
"""

import json
import os
import sys
import threading
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.checks.sqlite_embedded"
os.environ["DATABASE_URL"] = f"sqlite:///{sys.argv[1]}" if __name__ == "__main__" else os.environ["DATABASE_URL"]
os.environ["CHECK_EXECUTION_BACKEND"] = "threads"

if __name__ != "__main__":  # imported as the settings module by the program below
    from config.test_settings import *  # noqa: F403

    class _NoMigrations(dict):
        def __contains__(self, item):
            return True

        def __getitem__(self, item):
            return None

    MIGRATION_MODULES = _NoMigrations()
    DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    CHECK_EXECUTION_THREADS = 8


def main(warehouse_dsn: str, warehouse_admin_dsn: str) -> dict:
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    from catalog.models import Connection
    from checks import dispatch, execution_services
    from checks.models import SLOT_STATES, CheckExecution
    from orgs import services
    from orgs.models import Plan

    call_command("migrate", run_syncdb=True, verbosity=0)
    organization = services.create_organization(slug="embedded", plan=Plan.FREE)  # check_concurrency 2
    Connection.objects.create(
        organization=organization,
        connection_id="pg",
        type="postgres",
        config={"dsn": warehouse_dsn, "statement_timeout_seconds": 20},
    )
    held = psycopg.connect(warehouse_admin_dsn)
    held.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")

    errors, barrier = [], threading.Barrier(8)

    def submit(index):
        try:
            barrier.wait()
            execution_services.submit_execution(
                organization, check_id=f"chk-{index}", connection_id="pg", sql="SELECT COUNT(*) FROM orders"
            )
        except Exception as exc:  # reported, not raised: the test asserts there is none
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    most_in_slots, deadline = 0, time.monotonic() + 3
    while time.monotonic() < deadline:
        most_in_slots = max(most_in_slots, CheckExecution.objects.unscoped().filter(state__in=SLOT_STATES).count())
        time.sleep(0.01)
    for thread in threads:
        thread.join()
    states_while_held = sorted(CheckExecution.objects.unscoped().values_list("state", flat=True))
    held.rollback()
    held.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and CheckExecution.objects.unscoped().exclude(state="done").exists():
        time.sleep(0.05)
    dispatch.shutdown_pool()
    return {
        "errors": errors,
        "most_in_slots": most_in_slots,
        "states_while_held": states_while_held,
        "states_after": sorted(CheckExecution.objects.unscoped().values_list("state", flat=True)),
        "violations": sorted(CheckExecution.objects.unscoped().values_list("result__violations", flat=True)),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[2], sys.argv[3])))
