"""The lineage endpoints: both compose apps (the graph names the impacted checks; ingestion writes the
catalog's runs and checks' results as well as lineage), so they live in workflows."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from lineage.api.parsers import MaybeGzipJSONParser
from lineage.api.serializers import LineageQuerySerializer, OpenLineageRunEventSerializer
from lineage.models import Dataset, OpenLineageEvent
from lineage.selectors import AmbiguousDataset, resolve_dataset
from orgs.viewsets import OrganizationScopedMixin
from workflows.lineage import lineage_graph
from workflows.openlineage import ingest


class LineageGraphView(OrganizationScopedMixin, generics.GenericAPIView):
    """GET /api/v1/lineage/{dataset_id}: the dataset's upstream and downstream, and the impact of a change."""

    queryset = Dataset.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("depth", OpenApiTypes.INT, description="Hops to walk, 0-20 (default 3)."),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["upstream", "downstream", "both"]),
            OpenApiParameter("namespace", OpenApiTypes.STR, description="Disambiguates an id used in several."),
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
        return Response(lineage_graph(dataset=dataset, direction=params["direction"], depth=params["depth"]))


class OpenLineageIngestView(OrganizationScopedMixin, generics.GenericAPIView):
    """POST /api/v1/lineage: an OpenLineage RunEvent, as the openlineage-python HttpTransport sends it."""

    queryset = OpenLineageEvent.objects.all()
    parser_classes = [MaybeGzipJSONParser]
    serializer_class = OpenLineageRunEventSerializer

    @extend_schema(
        request=OpenLineageRunEventSerializer, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        payload = request.data
        if not isinstance(payload, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be one OpenLineage RunEvent."]})
        outcome = ingest(organization=self.organization, payload=payload)
        body = {
            "status": "duplicate" if outcome.duplicate else "accepted",
            "run_id": outcome.event.run_id,
            "event_type": outcome.event.event_type,
            "pipeline": outcome.event.job_name,
        }
        if outcome.duplicate:
            return Response(body, status=status.HTTP_200_OK)
        body |= {
            "run_status": outcome.run_status,
            "datasets": outcome.datasets,
            "edges": outcome.edges,
            "check_results": outcome.check_results,
        }
        return Response(body, status=status.HTTP_201_CREATED)
