"""Alert rules of the caller's organization (admin role for reads and writes) and their recent alerts."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from alerts import selectors, services
from alerts.api.serializers import (
    AlertRuleCreatedSerializer,
    AlertRuleInputSerializer,
    AlertRuleSerializer,
    AlertSerializer,
)
from alerts.models import AlertRule
from config.pagination import HistoryCursorPagination, PagePagination
from orgs.models import Role
from orgs.viewsets import OrganizationScopedViewSet


class AlertHistoryPagination(HistoryCursorPagination):
    page_size = 20


def _destination(data: dict):
    destination = data["destination"]
    return destination["type"], destination.get("url"), destination.get("to")


class AlertRuleViewSet(
    OrganizationScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
):
    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer
    pagination_class = PagePagination
    lookup_url_kwarg = "rule_id"
    lookup_value_regex = r"[0-9]{1,18}"
    required_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN, "deliveries": Role.ADMIN}
    write_role = Role.ADMIN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=AlertRuleInputSerializer, responses={201: AlertRuleCreatedSerializer})
    def create(self, request):
        payload = AlertRuleInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        destination_type, url, to = _destination(data)
        saved = services.create_rule(
            organization=self.organization,
            name=data["name"],
            events=data["events"],
            destination_type=destination_type,
            url=url,
            to=to,
            enabled=data["enabled"],
        )
        return self._saved(saved, status.HTTP_201_CREATED)

    @extend_schema(request=AlertRuleInputSerializer(partial=True), responses=AlertRuleCreatedSerializer)
    def partial_update(self, request, rule_id=None):
        rule = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        payload = AlertRuleInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        saved = services.update_rule(
            rule=rule,
            name=data.get("name"),
            events=data.get("events"),
            destination=_destination(data) if "destination" in data else None,
            enabled=data.get("enabled"),
        )
        return self._saved(saved, status.HTTP_200_OK)

    def _saved(self, saved, code):
        saved.rule.signing_secret = saved.signing_secret
        # A response that may hold the signing secret: no cache (browser or proxy) may keep it.
        return Response(AlertRuleCreatedSerializer(saved.rule).data, status=code, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance):
        services.delete_rule(rule=instance)

    @extend_schema(responses=AlertSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=AlertHistoryPagination)
    def deliveries(self, request, rule_id=None):
        rule = self.get_object()
        paginator = AlertHistoryPagination()
        page = paginator.paginate_queryset(selectors.recent_alerts(rule), request, view=self)
        return paginator.get_paginated_response(AlertSerializer(page, many=True).data)
