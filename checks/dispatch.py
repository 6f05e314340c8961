"""Sends admitted executions to what runs them, by CHECK_EXECUTION_BACKEND:

- "celery": a message holding only the execution id, to CHECK_EXECUTION_QUEUE on CELERY_BROKER_URL;
- "threads": a small bounded pool in this process (`make run`, one box without a broker); without a broker
  its start also starts the embedded beat (config/embedded_beat.py), which runs the periodic work
  `celery beat` schedules otherwise (expired leases, queued executions, and every other beat entry);
- "inline": the caller's thread (the test suite).
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from config import embedded_beat
from config.logging import forget_secrets

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_inline = threading.local()


def send(execution_ids: list[str]) -> list[str]:
    """Hands each execution to its backend; returns the ids that could not be sent (broker down)."""
    backend = settings.CHECK_EXECUTION_BACKEND
    if backend == "celery":
        return [execution_id for execution_id in execution_ids if not _publish(execution_id)]
    if backend == "threads":
        pool = _thread_pool()
        for execution_id in execution_ids:
            pool.submit(_run_in_thread, execution_id)
        return []
    _run_inline(execution_ids)
    return []


def _publish(execution_id: str) -> bool:
    from checks.tasks import run_check_execution

    return publish(run_check_execution, execution_id, "check execution")


def publish(task, object_id, what: str) -> bool:
    """Sends `task(object_id)` to the workers' queue with the publish retry policy; False (logged, naming `what`)
    when the broker is down or refuses, for the caller to try again later."""
    try:
        task.apply_async(
            args=[object_id],
            queue=settings.CHECK_EXECUTION_QUEUE,
            retry=True,
            retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
        )
        return True
    except Exception as exc:  # kombu's OperationalError and friends: the broker is down or refuses
        logger.warning("%s %s could not be sent to the broker: %s", what, object_id, type(exc).__name__)
        return False


def run_one(execution_id: str) -> None:
    """Runs one execution in this thread with a clean slate of remembered secrets (a worker, the pool)."""
    from checks.execution_services import run_execution

    forget_secrets()  # no secret resolved for one organization's check is remembered for the next
    try:
        run_execution(execution_id)
    finally:
        forget_secrets()


def _run_in_thread(execution_id: str) -> None:
    close_old_connections()
    try:
        run_one(execution_id)
    except Exception:
        logger.exception("check execution %s failed in the in-process pool", execution_id)
    finally:
        # The pool serves the embedded mode (SQLite closes after each use anyway): no connection outlives its work.
        connections.close_all()


def _run_inline(execution_ids: list[str]) -> None:
    # Iterative, not recursive: a finishing execution admits the next, which would nest one call per queued one.
    pending = getattr(_inline, "pending", None)
    if pending is not None:
        pending.extend(execution_ids)
        return
    _inline.pending = list(execution_ids)
    try:
        while _inline.pending:
            run_one(_inline.pending.pop(0))
    finally:
        _inline.pending = None


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, settings.CHECK_EXECUTION_THREADS), thread_name_prefix="check-execution"
            )
            if not settings.CELERY_BROKER_URL:
                # Its first pass after an interval: a web process in the embedded mode started the beat
                # already (config/wsgi.py), with the pass at start.
                embedded_beat.start(run_now=False)
        return _pool


def shutdown_pool() -> None:
    """Stops the embedded beat and waits for the in-process pool's executions (tests; an orderly exit)."""
    global _pool
    embedded_beat.stop()
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
