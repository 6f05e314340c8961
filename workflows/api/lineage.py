"""The lineage endpoints: both compose apps (the graph names the impacted checks; ingestion writes the
catalog's runs and checks' results as well as lineage), so they live in workflows."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.response import Response

from lineage.api.parsers import BATCH_PARSERS, MaybeGzipJSONParser, max_batch_bytes
from lineage.api.serializers import LineageQuerySerializer, OpenLineageRunEventSerializer
from lineage.models import Dataset, OpenLineageEvent
from lineage.selectors import AmbiguousDataset, resolve_dataset
from orgs.throttling import EventRateThrottle
from orgs.viewsets import OrganizationScopedMixin
from workflows import batches
from workflows.lineage import lineage_graph
from workflows.openlineage import describe, ingest, ingest_batch


def batch_schema(what: str) -> dict:
    """The OpenAPI description of a batch body (POST /lineage/batch, /runs/batch): an array of `what`."""
    return {
        "request": {
            "application/json": {
                "type": "array",
                "items": {"type": "object"},
                "maxItems": batches.MAX_BATCH_EVENTS,
                "description": f"{what}; NDJSON (application/x-ndjson) is accepted too.",
            },
        },
        "responses": {200: OpenApiTypes.OBJECT},
    }


class LineageGraphView(OrganizationScopedMixin, generics.GenericAPIView):
    """GET /api/v1/lineage/{dataset_id}: the dataset's upstream and downstream, and the impact of a change."""

    queryset = Dataset.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("depth", OpenApiTypes.INT, description="Hops to walk, 0-20 (default 3)."),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["upstream", "downstream", "both"]),
            OpenApiParameter("namespace", OpenApiTypes.STR, description="Disambiguates an id used in several."),
            OpenApiParameter(
                "columns",
                OpenApiTypes.BOOL,
                description="Add the dataset's schema and, per column, its upstream columns within the depth.",
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, dataset_id):
        query = LineageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            dataset = resolve_dataset(self.get_queryset(), dataset_id, params.get("namespace"))
        except AmbiguousDataset as exc:
            raise serializers.ValidationError(
                {
                    "namespace": [
                        f"Dataset {dataset_id!r} exists in several namespaces ({', '.join(exc.namespaces)}); "
                        "choose one with ?namespace=."
                    ]
                }
            ) from None
        if dataset is None:
            raise NotFound(f"No dataset {dataset_id!r}.")
        answer = lineage_graph(
            dataset=dataset, direction=params["direction"], depth=params["depth"], columns=params["columns"]
        )
        return Response(answer)


class OpenLineageIngestView(OrganizationScopedMixin, generics.GenericAPIView):
    """POST /api/v1/lineage: one OpenLineage event (RunEvent, JobEvent or DatasetEvent), as the
    openlineage-python HttpTransport sends it."""

    # Events, not requests, are what the throttle counts here (orgs.throttling.EventRateThrottle).
    throttle_classes = [EventRateThrottle]

    queryset = OpenLineageEvent.objects.all()
    parser_classes = [MaybeGzipJSONParser]
    serializer_class = OpenLineageRunEventSerializer

    @extend_schema(
        request=OpenLineageRunEventSerializer, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        payload = request.data
        if not isinstance(payload, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["The body must be one OpenLineage event (a JSON object)."]}
            )
        outcome = ingest(organization=self.organization, payload=payload)
        body = {"status": "duplicate" if outcome.duplicate else "accepted", **describe(outcome)}
        return Response(body, status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED)


class OpenLineageBatchView(OrganizationScopedMixin, generics.GenericAPIView):
    """POST /api/v1/lineage/batch: up to 1,000 OpenLineage events (a JSON array, or NDJSON), gzip allowed.

    Answers 200 with one status per event (accepted, duplicate, refused with its reason); the good
    events are kept when some are refused. (A dataset whose id is exactly "batch" is no longer
    reachable at GET /lineage/batch: docs/lineage.md.)
    """

    queryset = OpenLineageEvent.objects.all()
    serializer_class = OpenLineageRunEventSerializer  # what OPTIONS describes: one event of the array
    parser_classes = BATCH_PARSERS
    throttle_classes = [EventRateThrottle]
    charges_events_itself = True

    @staticmethod
    def max_decompressed_bytes() -> int:
        return max_batch_bytes()

    @extend_schema(**batch_schema("OpenLineage events"))
    def post(self, request):
        events = batches.check_batch(request.data)
        charge_events(request, len(events))
        # The parser keeps the body's text (lineage.api.parsers.keep_batch_text) for one screening of all events.
        text = getattr(request, "batch_text", None)
        items = ingest_batch(organization=self.organization, payloads=events, text=text)
        return Response(batches.summary(items))


def charge_events(request, count: int) -> None:
    """The batch's events against the producer's event budget (429 when it is spent)."""
    throttle = EventRateThrottle()
    if not throttle.charge(request, count):
        raise Throttled(wait=throttle.wait())
