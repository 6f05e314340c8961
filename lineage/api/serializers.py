"""Validation of lineage query parameters, and the OpenAPI description of an OpenLineage event.

Events are read by `lineage.openlineage_events.parse_event` (plain Python, on the hot path); the
event serializers below describe the body for the OpenAPI schema and check the same rules, so a
client generated from the schema sends what ingestion accepts.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from lineage.selectors import BOTH, DEFAULT_DEPTH, DOWNSTREAM, MAX_DEPTH, UPSTREAM

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


class LineageQuerySerializer(serializers.Serializer):
    depth = serializers.IntegerField(
        min_value=0,
        max_value=MAX_DEPTH,
        default=DEFAULT_DEPTH,
        error_messages={"invalid": f"depth must be a whole number of hops between 0 and {MAX_DEPTH}."},
    )
    direction = serializers.ChoiceField(choices=(UPSTREAM, DOWNSTREAM, BOTH), default=BOTH)
    namespace = serializers.CharField(required=False, allow_blank=True, max_length=500, trim_whitespace=False)
    columns = serializers.BooleanField(default=False)

    def to_internal_value(self, data):
        # DRF would read an empty ?depth= as "use the default"; it is a malformed number instead.
        if str(data.get("depth", "x")).strip() == "":
            raise serializers.ValidationError({"depth": [self.fields["depth"].error_messages["invalid"]]})
        return super().to_internal_value(data)


class _FacetsField(serializers.DictField):
    """A facets object: any keys, any values (unknown facets are accepted)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=serializers.JSONField(), **kwargs)


class AssertionSerializer(serializers.Serializer):
    assertion = serializers.CharField(max_length=150)
    success = serializers.BooleanField()
    column = serializers.CharField(max_length=150, required=False, allow_null=True, allow_blank=True)
    severity = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True)
    # Facet 1-1-0: a named test and its SQL.
    name = serializers.CharField(max_length=150, required=False, allow_null=True, allow_blank=True)
    content = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


class DataQualityAssertionsSerializer(serializers.Serializer):
    assertions = AssertionSerializer(many=True)


class DatasetSerializer(serializers.Serializer):
    namespace = serializers.CharField(max_length=500)
    name = serializers.CharField(max_length=500, trim_whitespace=False)
    facets = _FacetsField()
    inputFacets = _FacetsField()
    outputFacets = _FacetsField()

    def validate(self, attrs):
        # The spec puts dataQualityAssertions in inputFacets; some producers put it in facets.
        for facets_key in ("inputFacets", "facets"):
            facet = (attrs.get(facets_key) or {}).get("dataQualityAssertions")
            if facet is None:
                continue
            checked = DataQualityAssertionsSerializer(data=facet)
            if not checked.is_valid():
                raise serializers.ValidationError({facets_key: {"dataQualityAssertions": checked.errors}})
            attrs["assertions"] = checked.validated_data["assertions"]
            break
        return attrs


class RunSerializer(serializers.Serializer):
    runId = serializers.CharField(max_length=250)
    facets = _FacetsField()


class JobSerializer(serializers.Serializer):
    namespace = serializers.CharField(max_length=500)
    name = serializers.CharField(max_length=200)
    facets = _FacetsField()


@extend_schema_serializer(component_name="OpenLineageRunEvent")  # not the catalog's RunEvent
class OpenLineageRunEventSerializer(serializers.Serializer):
    eventType = serializers.ChoiceField(choices=EVENT_TYPES, required=False, default="OTHER")
    eventTime = serializers.DateTimeField()
    producer = serializers.CharField(max_length=1000)
    schemaURL = serializers.CharField(max_length=1000, required=False)
    run = RunSerializer(help_text="RunEvent only; a JobEvent has none, a DatasetEvent has `dataset` instead.")
    job = JobSerializer(required=False)
    inputs = DatasetSerializer(many=True, required=False, default=list)
    outputs = DatasetSerializer(many=True, required=False, default=list)
