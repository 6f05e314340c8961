from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.views import APIView

from checks import services
from checks.api.serializers import CheckResultSerializer, ExecuteCheckSerializer, RecordResultSerializer
from checks.filters import CheckResultFilterSet
from checks.models import CheckResult
from config.pagination import HistoryCursorPagination
from orgs.viewsets import OrganizationScopedMixin, OrganizationScopedViewSet


class ResultPagination(HistoryCursorPagination):
    ordering = ("-executed_at", "-id")


def service_arguments(validated_data: dict) -> dict:
    """A request body's fields as the service's keyword arguments (the body names pipeline and dataset by id)."""
    renamed = {"pipeline": "pipeline_name", "dataset": "dataset_id"}
    return {renamed.get(name, name): value for name, value in validated_data.items()}


class CheckResultViewSet(
    OrganizationScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    """GET: results newest first, filterable; POST: record a result computed elsewhere (idempotent on result_id)."""

    queryset = CheckResult.objects.all()
    serializer_class = CheckResultSerializer
    filterset_class = CheckResultFilterSet
    pagination_class = ResultPagination
    lookup_field = "result_id"
    lookup_value_regex = r"[A-Za-z0-9_.:\-]+"

    def scope_queryset(self, queryset):
        return queryset.select_related("pipeline", "run", "dataset")

    def get_serializer_class(self):
        return RecordResultSerializer if self.action == "create" else CheckResultSerializer

    @extend_schema(request=RecordResultSerializer, responses={200: CheckResultSerializer, 201: CheckResultSerializer})
    def create(self, request, *args, **kwargs):
        payload = RecordResultSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result, created = services.record_result(self.organization, **service_arguments(payload.validated_data))
        return Response(
            CheckResultSerializer(result).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ExecuteCheckView(OrganizationScopedMixin, APIView):
    """POST: run a check's SQL (verified read-only) on a registered connection and record the result.

    201 with the new result (pass, fail, or error for an SQL error or a timeout); 200 with the
    stored result when `result_id` was already recorded; 502 with the recorded error result when
    the warehouse is unreachable or refuses the login; 400 for refused SQL or unknown ids.
    """

    queryset = CheckResult.objects.all()
    serializer_class = ExecuteCheckSerializer

    @extend_schema(
        request=ExecuteCheckSerializer,
        responses={200: CheckResultSerializer, 201: CheckResultSerializer, 502: CheckResultSerializer},
    )
    def post(self, request, *args, **kwargs):
        payload = ExecuteCheckSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outcome = services.execute_check(self.organization, **service_arguments(payload.validated_data))
        body = CheckResultSerializer(outcome.result).data
        if outcome.error_kind == "unavailable":
            body = {**body, "detail": "The warehouse could not be reached; the error is recorded."}
            return Response(body, status=status.HTTP_502_BAD_GATEWAY)
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)
