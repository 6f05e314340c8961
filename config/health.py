"""Liveness and readiness probes: plain Django views, outside DRF's auth and throttling.

They answer whatever the Host header says (config/probes.py): an orchestrator probes the container's own
address, which is no name in DJANGO_ALLOWED_HOSTS.
"""

import logging

from django.db import DatabaseError, connections, transaction
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from config import pending_migrations
from config.errors import logged_as_warning

logger = logging.getLogger(__name__)


@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request):
    connection = connections["default"]
    try:
        # SET LOCAL only holds inside a transaction block: outside one PostgreSQL ignores it (a warning).
        with transaction.atomic(using="default"), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL statement_timeout = 2000")
            cursor.execute("SELECT 1")
            cursor.fetchone()
            missing = pending_migrations.pending()
    except DatabaseError as exc:
        logger.warning("readiness check failed: %s", exc.__class__.__name__)
        connection.close_if_unusable_or_obsolete()
        return _not_ready({"status": "unavailable", "reason": f"database unreachable ({exc.__class__.__name__})"})
    if missing:
        logger.warning("readiness check: %d migrations pending", len(missing))
        return _not_ready(
            {
                "status": "migrations pending",
                "reason": pending_migrations.summary(missing),
                "pending_migrations": len(missing),
            }
        )
    return JsonResponse({"status": "ready", "database": "ok"})


def _not_ready(body: dict) -> JsonResponse:
    return logged_as_warning(JsonResponse(body, status=503))  # an answer the probe expects, not an error
