"""Receiving one OpenLineage RunEvent body: mask, validate, apply.

The one entry point for the API view and the demo seeder, so that nothing is stored unmasked. It
lives beside the serializer it validates with, so `lineage.services` stays free of the API layer.
"""

from lineage import services
from lineage.api.serializers import OpenLineageRunEventSerializer
from orgs.models import Organization


def ingest(*, organization: Organization, payload: dict) -> services.IngestOutcome:
    """Masks, validates (DRF ValidationError -> 400) and applies one received RunEvent body."""
    payload = services.redact_payload(payload)
    event = OpenLineageRunEventSerializer(data=payload)
    event.is_valid(raise_exception=True)
    return services.ingest_run_event(organization=organization, event=event.validated_data, payload=payload)
