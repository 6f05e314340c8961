"""API views whose answers compose several apps: registration, a run's detail, the organization page.

The pipeline and run viewsets extend catalog's base classes (reads and run events stay there) and
are the ones routed; `/organizations/me` adds billing's summary, which orgs may not import.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import billing_summary
from catalog import selectors as catalog_selectors
from catalog.api.serializers import PipelineSerializer
from catalog.api.views import PipelineReadViewSet, RunEventViewSet
from checks import selectors as checks_selectors
from orgs import limits
from orgs.api.serializers import OrganizationMeSerializer
from orgs.viewsets import OrganizationScopedMixin
from workflows import pipeline_spec
from workflows.api.serializers import RunDetailSerializer
from workflows.registration import register_pipeline
from workflows.usage import organization_usage


class PipelineViewSet(PipelineReadViewSet):
    @extend_schema(
        request={"application/json": {"type": "object", "description": "The generated pipeline.json."}},
        responses={201: PipelineSerializer, 200: PipelineSerializer},
    )
    def create(self, request):
        spec = pipeline_spec.parse(request.data)
        outcome = register_pipeline(organization=self.organization, spec=spec)
        pipeline = self._pipeline(outcome.pipeline.name)
        return Response(
            PipelineSerializer(pipeline).data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )


class RunViewSet(mixins.RetrieveModelMixin, RunEventViewSet):
    serializer_class = RunDetailSerializer

    def scope_queryset(self, queryset):
        if self.action == "retrieve":
            results = Prefetch(
                "check_results",
                queryset=checks_selectors.results_newest_first(self.organization),
                to_attr="prefetched_check_results",
            )
            return catalog_selectors.run_details(queryset).prefetch_related(results)
        return super().scope_queryset(queryset)


class OrganizationMeView(OrganizationScopedMixin, APIView):
    """The caller's organization: plan, its limits, this month's usage and billing state."""

    @extend_schema(responses=OrganizationMeSerializer)
    def get(self, request):
        organization = self.organization
        context = {
            "limits": limits.limits_for(organization),
            "usage": organization_usage(organization),
            "usage_period": limits.current_period(),
            "role": self.principal.role,
            "billing": billing_summary(organization),
        }
        return Response(OrganizationMeSerializer(organization, context=context).data)
