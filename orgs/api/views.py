from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from orgs import services
from orgs.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
)
from orgs.models import ApiKey, Role
from orgs.viewsets import OrganizationScopedViewSet


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
