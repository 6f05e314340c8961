"""Pipelines (reads, versions, run history), runs (lifecycle events) and connections.

Registering a pipeline and a run's detail (with its check results) compose other apps: the routed
`pipelines` and `runs` viewsets are workflows.api's, which subclass the two base classes here.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.pagination import RunHistoryPagination
from catalog.api.serializers import (
    ConnectionSerializer,
    PipelineListSerializer,
    PipelineSerializer,
    PipelineVersionDetailSerializer,
    PipelineVersionSerializer,
    RunEventSerializer,
    RunSerializer,
)
from catalog.filters import PipelineFilterSet, RunFilterSet
from catalog.models import Connection, Pipeline, Run
from orgs.models import Role
from orgs.viewsets import OrganizationScopedViewSet

NAME_IN_PATH = r"[^/]+"


# Pipelines, their versions and run history; workflows.api.PipelineViewSet adds registration (POST).
# (Comments, not docstrings: drf-spectacular would publish a docstring as every operation's description.)
class PipelineReadViewSet(OrganizationScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Pipeline.objects.all()
    lookup_field = "name"
    lookup_value_regex = NAME_IN_PATH
    filterset_class = PipelineFilterSet

    def scope_queryset(self, queryset):
        if self.action == "list":
            return selectors.pipelines_for_listing(queryset)
        if self.action in ("retrieve", "create"):  # create: workflows.api.PipelineViewSet answers the pipeline
            return selectors.pipelines_with_latest_run(queryset)
        return queryset  # versions/runs only need the pipeline row

    def get_serializer_class(self):
        return PipelineListSerializer if self.action == "list" else PipelineSerializer

    def _pipeline(self, name) -> Pipeline:
        return get_object_or_404(self.get_queryset(), name=name)

    @extend_schema(responses=PipelineVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, name=None):
        pipeline = self._pipeline(name)
        page = self.paginate_queryset(selectors.pipeline_versions(pipeline))
        return self.get_paginated_response(PipelineVersionSerializer(page, many=True).data)

    @extend_schema(responses=PipelineVersionDetailSerializer)
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<version>[^/]+)")
    def version(self, request, name=None, version=None):
        pipeline = self._pipeline(name)
        found = get_object_or_404(selectors.pipeline_versions(pipeline), version=version)
        return Response(PipelineVersionDetailSerializer(found).data)

    @extend_schema(
        responses=RunSerializer(many=True),
        parameters=[
            OpenApiParameter("status", str, many=True, enum=[s for s, _ in Run._meta.get_field("status").choices]),
            OpenApiParameter("started_after", str, description="ISO 8601; runs started at or after it"),
            OpenApiParameter("started_before", str, description="ISO 8601; runs started before it"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int),
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=RunHistoryPagination)  # the schema reads it too
    def runs(self, request, name=None):
        pipeline = self._pipeline(name)
        filterset = RunFilterSet(request.query_params, queryset=selectors.run_history(pipeline), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = RunHistoryPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(RunSerializer(page, many=True).data)


# Run lifecycle events (POST, PATCH); workflows.api.RunViewSet adds the run's detail (GET).
class RunEventViewSet(OrganizationScopedViewSet):
    queryset = Run.objects.all()
    lookup_field = "run_id"
    lookup_value_regex = NAME_IN_PATH
    serializer_class = RunSerializer

    def scope_queryset(self, queryset):
        return queryset.select_related("pipeline")  # a PATCH needs the run and its pipeline's name, no results

    def _resolve_pipeline(self, name):
        return selectors.pipeline_for_run_events(self.organization, name)

    def _apply(self, data: dict, resolve_pipeline=None):
        """`resolve_pipeline(name)`: how the event's pipeline is found (a batch passes one that remembers)."""
        resolve = resolve_pipeline or self._resolve_pipeline
        payload = RunEventSerializer(data=data, context={"resolve_pipeline": resolve})
        payload.is_valid(raise_exception=True)
        return services.apply_run_event(organization=self.organization, **payload.validated_data)

    @extend_schema(request=RunEventSerializer, responses={201: RunSerializer, 200: RunSerializer})
    def create(self, request):
        outcome = self._apply(request.data)
        return Response(
            RunSerializer(outcome.run).data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )

    @extend_schema(request=RunEventSerializer, responses=RunSerializer)
    def partial_update(self, request, run_id=None):
        run = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        body_run_id = request.data.get("run_id")
        if body_run_id not in (None, run.run_id):
            raise ValidationError({"run_id": ["Does not match the run in the path."]})
        outcome = self._apply({"pipeline_id": run.pipeline.name, **request.data, "run_id": run.run_id})
        return Response(RunSerializer(outcome.run).data)


class ConnectionViewSet(
    OrganizationScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
):
    """Warehouse connections; reading needs `read`, every write needs `admin`."""

    queryset = Connection.objects.all()
    serializer_class = ConnectionSerializer
    lookup_field = "connection_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = NAME_IN_PATH
    write_role = Role.ADMIN

    def create(self, request):
        payload = ConnectionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if Connection.objects.for_organization(self.organization).filter(connection_id=data["connection_id"]).exists():
            raise services.Conflict(f"A connection {data['connection_id']!r} already exists; PUT or PATCH it.")
        connection = services.create_connection(
            organization=self.organization,
            connection_id=data["connection_id"],
            connection_type=data["type"],
            config=data["config"],
        )
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    def update(self, request, id=None, partial=False):
        connection = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        # The id is in the path; the body may repeat it (as a GET returned it) but not change it.
        body = {"id": connection.connection_id, **request.data}
        payload = ConnectionSerializer(connection, data=body, partial=partial)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if data.get("connection_id", connection.connection_id) != connection.connection_id:
            raise ValidationError({"id": ["A connection's id cannot change; create a new connection instead."]})
        services.update_connection(connection=connection, connection_type=data.get("type"), config=data.get("config"))
        return Response(ConnectionSerializer(connection).data)

    def partial_update(self, request, id=None):
        return self.update(request, id=id, partial=True)

    def perform_destroy(self, instance):
        services.delete_connection(connection=instance)
