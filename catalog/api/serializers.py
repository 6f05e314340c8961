from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.connection_config import display_config
from catalog.models import Connection, ConnectionType, Pipeline, PipelineVersion, Run, RunStatus


class LatenessSerializer(serializers.Serializer):
    """Why and since when a pipeline is late (catalog.lateness); null while it is on time."""

    reason = serializers.CharField(source="late_reason", help_text="missed_slot or overrun")
    slot = serializers.DateTimeField(
        source="late_slot", help_text="The missed scheduled slot, or the overrunning run's start (UTC)."
    )
    since = serializers.DateTimeField(source="late_detected_at", help_text="When the catalog saw it late.")


class LatenessFieldsMixin(serializers.Serializer):
    timezone = serializers.CharField(source="schedule_timezone", read_only=True)
    late = serializers.SerializerMethodField()

    @extend_schema_field(LatenessSerializer(allow_null=True))
    def get_late(self, pipeline) -> dict | None:
        return LatenessSerializer(pipeline).data if pipeline.late_slot else None


LATENESS_FIELDS = ["timezone", "paused", "late_grace_minutes", "late"]


class PipelineSerializer(LatenessFieldsMixin, serializers.ModelSerializer):
    """A pipeline with its current version's spec sections; `latest_run_status` comes annotated."""

    version = serializers.CharField(source="current_version.version", default=None, allow_null=True)
    spec_hash = serializers.CharField(source="current_version.spec_hash", default=None, allow_null=True)
    latest_run_status = serializers.CharField(read_only=True, default=None, allow_null=True)
    sources = serializers.SerializerMethodField()
    transforms = serializers.SerializerMethodField()
    targets = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()

    class Meta:
        model = Pipeline
        fields = [
            "name",
            "version",
            "spec_hash",
            "description",
            "schedule",
            *LATENESS_FIELDS,
            "owner",
            "tags",
            "is_external",
            "latest_run_status",
            "sources",
            "transforms",
            "targets",
            "checks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _section(self, pipeline, key) -> list:
        version = pipeline.current_version
        return list(version.spec.get(key) or []) if version else []

    def get_sources(self, pipeline) -> list[dict]:
        return self._section(pipeline, "sources")

    def get_transforms(self, pipeline) -> list[dict]:
        return self._section(pipeline, "transforms")

    def get_targets(self, pipeline) -> list[dict]:
        return self._section(pipeline, "targets")

    def get_checks(self, pipeline) -> list[dict]:
        return self._section(pipeline, "checks")


class PipelineListSerializer(PipelineSerializer):
    class Meta(PipelineSerializer.Meta):
        fields = [
            "name",
            "version",
            "description",
            "schedule",
            *LATENESS_FIELDS,
            "owner",
            "tags",
            "is_external",
            "latest_run_status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PipelineVersionSerializer(serializers.ModelSerializer):
    pipeline = serializers.CharField(source="pipeline.name")
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = PipelineVersion
        fields = ["pipeline", "version", "spec_hash", "is_current", "created_at"]
        read_only_fields = fields

    def get_is_current(self, version) -> bool:
        return version.pipeline.current_version_id == version.pk


class PipelineVersionDetailSerializer(PipelineVersionSerializer):
    class Meta(PipelineVersionSerializer.Meta):
        fields = [*PipelineVersionSerializer.Meta.fields, "spec"]
        read_only_fields = fields


# --- Runs -----------------------------------------------------------------------------------

run_id_validator = RegexValidator(r"^[^/\s]+$", "A run id may not contain '/' or whitespace.")


class RunEventSerializer(serializers.Serializer):
    """The body of POST /runs/ and PATCH /runs/{run_id}."""

    pipeline_id = serializers.CharField(max_length=200, help_text="The pipeline's name in your organization.")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    run_id = serializers.CharField(max_length=250, required=False, validators=[run_id_validator])
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    finished_at = serializers.DateTimeField(required=False, allow_null=True)
    pipeline_version = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    attributes = serializers.DictField(required=False, allow_empty=True)

    def validate(self, attrs):
        started, finished = attrs.get("started_at"), attrs.get("finished_at")
        if started and finished and finished < started:
            raise serializers.ValidationError({"finished_at": ["Must not be before started_at."]})
        # The validated data are apply_run_event's keyword arguments: the pipeline's name becomes the pipeline.
        name = attrs.pop("pipeline_id")
        pipeline = self.context["resolve_pipeline"](name)
        if pipeline is None:
            raise serializers.ValidationError({"pipeline_id": [f"No pipeline named {name!r} in this organization."]})
        attrs["pipeline"] = pipeline
        version_name = attrs.pop("pipeline_version", None)
        attrs["pipeline_version"] = None
        if version_name:
            version = pipeline.versions.filter(version=version_name).first()
            if version is None:
                raise serializers.ValidationError(
                    {"pipeline_version": [f"Pipeline {pipeline.name!r} has no version {version_name!r}."]}
                )
            attrs["pipeline_version"] = version
        return attrs


class RunSerializer(serializers.ModelSerializer):
    pipeline_id = serializers.CharField(source="pipeline.name", read_only=True)
    pipeline_version = serializers.CharField(
        source="pipeline_version.version", default=None, allow_null=True, read_only=True
    )
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "run_id",
            "pipeline_id",
            "pipeline_version",
            "status",
            "started_at",
            "finished_at",
            "duration_seconds",
            "attributes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run) -> float | None:
        if run.started_at and run.finished_at:
            return round((run.finished_at - run.started_at).total_seconds(), 3)
        return None


# --- Connections ----------------------------------------------------------------------------


class ConnectionSerializer(serializers.ModelSerializer):
    """Reads show the config as stored: secret references as written, a DSN password masked."""

    id = serializers.SlugField(source="connection_id", max_length=100)
    type = serializers.ChoiceField(choices=ConnectionType.choices)
    config = serializers.JSONField()
    has_dsn_password = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = ["id", "type", "config", "has_dsn_password", "created_at", "updated_at"]
        read_only_fields = ["has_dsn_password", "created_at", "updated_at"]

    def get_has_dsn_password(self, connection) -> bool:
        return bool(connection.encrypted_dsn_password)

    def to_representation(self, connection):
        data = super().to_representation(connection)
        data["config"] = display_config(connection)
        return data
