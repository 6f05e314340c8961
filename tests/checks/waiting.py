"""Waiting in tests for what another thread or process does (the pool, the embedded beat, a worker)."""

import time


def wait_for(condition, seconds: float = 15) -> None:
    """Returns once `condition()` holds; fails the test when it has not within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
