from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import billing_summary
from orgs import limits, services
from orgs.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    OrganizationMeSerializer,
)
from orgs.models import ApiKey, Role
from orgs.viewsets import OrganizationScopedMixin, OrganizationScopedViewSet


class OrganizationMeView(OrganizationScopedMixin, APIView):
    """The caller's organization: plan, its limits, this month's usage and billing state."""

    @extend_schema(responses=OrganizationMeSerializer)
    def get(self, request):
        principal = self.principal
        organization = self.organization
        context = {
            "limits": limits.limits_for(organization),
            "usage": limits.current_usage(organization),
            "usage_period": limits.current_period(),
            "role": principal.role,
            "billing": billing_summary(organization),
        }
        return Response(OrganizationMeSerializer(organization, context=context).data)


class ApiKeyViewSet(OrganizationScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """An organization's keys; managing them needs the admin role, reading them too."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    required_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN, "create": Role.ADMIN, "revoke": Role.ADMIN}

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = request.user if getattr(request.user, "pk", None) else None
        api_key, full_key = services.create_api_key(
            organization=self.organization, created_by=user, **payload.validated_data
        )
        api_key.key = full_key
        # The only response that ever holds the full key: no cache (browser or proxy) may keep it.
        return Response(
            ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"}
        )

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        api_key = self.get_object()
        services.revoke_api_keys(ApiKey.objects.for_organization(self.organization).filter(pk=api_key.pk))
        api_key.refresh_from_db()
        return Response(ApiKeySerializer(api_key).data)
