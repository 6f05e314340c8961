"""API views whose answers compose several apps: registration, a run's detail, the organization page.

The pipeline and run viewsets extend catalog's base classes (reads and run events stay there) and
are the ones routed; `/organizations/me` adds billing's summary, which orgs may not import.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import billing_summary
from catalog import selectors as catalog_selectors
from catalog.api.serializers import PipelineSerializer, RunSerializer
from catalog.api.views import PipelineReadViewSet, RunEventViewSet
from catalog.models import Run
from checks import selectors as checks_selectors
from lineage.api.parsers import BATCH_PARSERS, max_batch_bytes
from orgs import limits
from orgs.api.serializers import OrganizationMeSerializer
from orgs.errors import InvalidInput
from orgs.throttling import EventRateThrottle
from orgs.viewsets import OrganizationScopedMixin
from workflows import batches, pipeline_spec
from workflows.api.lineage import batch_schema, charge_events
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
    charges_events_itself = False  # the batch action charges the event throttle per event, once parsed

    def max_decompressed_bytes(self) -> int:
        return max_batch_bytes()

    @extend_schema(**batch_schema("Run events (POST /runs bodies)"))
    @action(
        detail=False,
        methods=["post"],
        url_path="batch",
        parser_classes=BATCH_PARSERS,
        throttle_classes=[EventRateThrottle],
        charges_events_itself=True,
    )
    def batch(self, request):
        """Up to 1,000 run events (each a POST /runs body): one status per event, the good ones kept.

        `accepted` when the event created or changed its run, `duplicate` when it changed nothing,
        `refused` with its reason (field messages, 409 conflicts, 402 plan limits) otherwise."""
        events = batches.check_batch(request.data)
        charge_events(request, len(events))
        pipelines: dict[str, object] = {}

        def resolve(name):
            if name not in pipelines:
                pipelines[name] = self._resolve_pipeline(name)
            return pipelines[name]

        def apply_one(body):
            if not isinstance(body, dict):
                raise InvalidInput(fields={"non_field_errors": ["A run event must be a JSON object."]})
            outcome = self._apply(body, resolve)
            changed = outcome.created or outcome.changed
            return (batches.ACCEPTED if changed else batches.DUPLICATE), {"run": RunSerializer(outcome.run).data}

        return Response(batches.summary(batches.apply_each(events, apply_one)))

    def scope_queryset(self, queryset):
        if self.action == "retrieve":
            results = Prefetch(
                "check_results",
                queryset=checks_selectors.results_newest_first(self.organization),
                to_attr="prefetched_check_results",
            )
            tasks = Prefetch(
                "task_runs",
                queryset=Run.objects.for_organization(self.organization).order_by("started_at", "created_at", "id"),
                to_attr="prefetched_task_runs",
            )
            return catalog_selectors.run_details(queryset).prefetch_related(results, tasks)
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
            "history_cutoff": limits.history_cutoff(organization),
        }
        return Response(OrganizationMeSerializer(organization, context=context).data)
