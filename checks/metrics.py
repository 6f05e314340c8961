"""Check execution metrics for /metrics, read from the database at each scrape.

Web nodes and workers are separate processes (and machines): counters kept in a worker would never reach
a web node's /metrics. The execution rows are shared, so every node exports the same numbers. No label
names an organization: /metrics is not tenant-scoped.
"""

import logging

from django.db import DatabaseError
from django.db.models import Count, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from checks.models import CheckExecution, ExecutionState

logger = logging.getLogger(__name__)

# Seconds from asking for an execution to its end: a quick check through the queue up to a 300 s timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAITING_STATES = (ExecutionState.QUEUED, ExecutionState.DISPATCHED)


class CheckExecutionCollector:
    def describe(self):
        # Names for the registry's duplicate check, without a query (it runs at start-up, before the database).
        yield GaugeMetricFamily("dataxpipe_check_execution_queue_depth", "")
        yield GaugeMetricFamily("dataxpipe_check_executions", "", labels=["state"])
        yield HistogramMetricFamily("dataxpipe_check_execution_latency_seconds", "")

    def collect(self):
        try:
            # Totals over every organization: /metrics names none.
            executions = CheckExecution.objects.unscoped()
            by_state = dict(executions.values_list("state").annotate(n=Count("id")).order_by())
            latency = executions.filter(latency_ms__isnull=False).aggregate(
                count=Count("id"),
                total=Sum("latency_ms"),
                **{f"le_{n}": Count("id", filter=Q(latency_ms__lte=b * 1000)) for n, b in enumerate(LATENCY_BUCKETS)},
            )
        except DatabaseError as exc:  # /metrics answers without these rather than failing
            logger.warning("check execution metrics unavailable: %s", type(exc).__name__)
            return

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

        buckets = [(str(b), latency[f"le_{n}"]) for n, b in enumerate(LATENCY_BUCKETS)]
        buckets.append(("+Inf", latency["count"]))
        histogram = HistogramMetricFamily(
            "dataxpipe_check_execution_latency_seconds",
            "Seconds from asking for a check execution to its end (queue wait plus run).",
        )
        histogram.add_metric([], buckets, sum_value=(latency["total"] or 0) / 1000)
        yield histogram


_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    from prometheus_client import REGISTRY

    REGISTRY.register(CheckExecutionCollector())
    _registered = True
