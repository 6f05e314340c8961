"""Check execution metrics for /metrics, read from the database at each scrape, in two small queries.

Web nodes and workers are separate processes (and machines): counters kept in a worker would never reach
a web node's /metrics. So the processes that finish executions count them in shared rows
(ExecutionLatencyBucket: one per end state and latency bucket), and a scrape reads those rows and counts
only the executions still active (queued, dispatched, running: an index range, however long the history).
Every node exports the same numbers. No label names an organization: /metrics is not tenant-scoped.
"""

import logging

from django.db import DatabaseError
from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from checks.models import ACTIVE_STATES, LATENCY_BUCKETS, CheckExecution, ExecutionLatencyBucket, ExecutionState

logger = logging.getLogger(__name__)

WAITING_STATES = (ExecutionState.QUEUED, ExecutionState.DISPATCHED)


class CheckExecutionCollector:
    def describe(self):
        # Names for the registry's duplicate check, without a query (it runs at start-up, before the database).
        yield GaugeMetricFamily("dataxpipe_check_execution_queue_depth", "")
        yield GaugeMetricFamily("dataxpipe_check_executions", "", labels=["state"])
        yield HistogramMetricFamily("dataxpipe_check_execution_latency_seconds", "")

    def collect(self):
        try:
            # Totals over every organization: /metrics names none. Active executions only (checkexec_state_lease).
            by_state = dict(
                CheckExecution.objects.unscoped()
                .filter(state__in=ACTIVE_STATES)
                .values_list("state")
                .annotate(n=Count("id"))
                .order_by()
            )
            finished = list(
                ExecutionLatencyBucket.objects.values_list("state", "bucket").annotate(
                    n=Sum("count"), total=Sum("sum_ms")
                )
            )
        except DatabaseError as exc:  # /metrics answers without these rather than failing
            logger.warning("check execution metrics unavailable: %s", type(exc).__name__)
            return

        per_bucket = [0] * (len(LATENCY_BUCKETS) + 1)
        total_ms = 0.0
        for state, bucket, n, total in finished:
            by_state[state] = by_state.get(state, 0) + n
            per_bucket[min(bucket, len(LATENCY_BUCKETS))] += n
            total_ms += total or 0

        depth = GaugeMetricFamily(
            "dataxpipe_check_execution_queue_depth",
            "Check executions waiting for a worker (queued for a slot, or dispatched and not started).",
        )
        depth.add_metric([], sum(by_state.get(state, 0) for state in WAITING_STATES))
        yield depth

        states = GaugeMetricFamily("dataxpipe_check_executions", "Check executions by state.", labels=["state"])
        for state in ExecutionState.values:
            states.add_metric([state], by_state.get(state, 0))
        yield states

        buckets, cumulative = [], 0
        for bound, n in zip((*LATENCY_BUCKETS, "+Inf"), per_bucket, strict=True):
            cumulative += n
            buckets.append((str(bound), cumulative))
        histogram = HistogramMetricFamily(
            "dataxpipe_check_execution_latency_seconds",
            "Seconds from asking for a check execution to its end (queue wait plus run).",
        )
        histogram.add_metric([], buckets, sum_value=total_ms / 1000)
        yield histogram


_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    from prometheus_client import REGISTRY

    REGISTRY.register(CheckExecutionCollector())
    _registered = True
