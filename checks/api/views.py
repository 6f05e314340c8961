from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.views import APIView

from checks import execution_services, selectors, services
from checks.api.serializers import (
    CheckExecutionSerializer,
    CheckResultSerializer,
    ExecuteCheckSerializer,
    RecordResultSerializer,
)
from checks.filters import CheckResultFilterSet
from checks.models import CheckExecution, CheckResult
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

    The check runs on a worker (a Celery worker, or the in-process pool without a broker), within the
    organization's plan's `check_concurrency`; the request waits for it up to `wait_seconds` (default 20).
    201 with the new result (pass, fail, or error for an SQL error or a timeout) when it finished in time;
    202 with the execution and `Location: /api/v1/checks/executions/<id>` otherwise (`"wait_seconds": 0`:
    at once); 200 with the stored result when `result_id` was already recorded; 502 with the recorded
    error result when the warehouse is unreachable or refuses the login; 400 for refused SQL or unknown
    ids, 402 past the monthly quota, before anything is queued.
    """

    queryset = CheckResult.objects.all()
    serializer_class = ExecuteCheckSerializer

    @extend_schema(
        request=ExecuteCheckSerializer,
        responses={
            200: CheckResultSerializer,
            201: CheckResultSerializer,
            202: CheckExecutionSerializer,
            502: CheckResultSerializer,
        },
    )
    def post(self, request, *args, **kwargs):
        payload = ExecuteCheckSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        arguments = dict(payload.validated_data)
        wait_seconds = arguments.pop("wait_seconds")
        submission = execution_services.submit_execution(
            self.organization, listen=wait_seconds > 0, **service_arguments(arguments)
        )
        if submission.existing is not None:
            return Response(CheckResultSerializer(submission.existing).data, status=status.HTTP_200_OK)
        execution = execution_services.wait_until_finished(
            submission.execution, wait_seconds, listening=submission.listening
        )
        if execution.result_id is not None:  # set only with its end state, and only by a read after a wait
            return result_response(execution)
        execution = selectors.execution_detail(self.organization, execution.execution_id)
        location = reverse("check-execution-detail", kwargs={"execution_id": execution.execution_id})
        return Response(
            CheckExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )


def result_response(execution) -> Response:
    """The answer of a request that waited until its check ran, as before checks ran on workers."""
    body = CheckResultSerializer(execution.result).data
    if execution.error_kind == "unavailable":
        body = {**body, "detail": "The warehouse could not be reached; the error is recorded."}
        return Response(body, status=status.HTTP_502_BAD_GATEWAY)
    return Response(body, status=status.HTTP_201_CREATED)


class CheckExecutionViewSet(OrganizationScopedViewSet, mixins.RetrieveModelMixin):
    """GET: a check execution asked for with POST /checks/execute: its state and, once done, its result."""

    queryset = CheckExecution.objects.all()
    serializer_class = CheckExecutionSerializer
    lookup_field = "execution_id"
    lookup_value_regex = r"exe-[0-9a-f]{1,40}"

    def scope_queryset(self, queryset):
        return selectors.with_result_names(queryset)
