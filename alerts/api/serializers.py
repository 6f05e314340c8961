from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.models import Alert, AlertEventType, AlertRule, DeliveryAttempt, DestinationType


class DestinationInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=DestinationType.choices)
    url = serializers.CharField(
        required=False, max_length=2000, help_text="webhook and slack: the URL to POST to (https, public host)."
    )
    to = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=10,
        help_text="email: the recipients (a single address is accepted too).",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            data = {**data, "to": [data["to"]]}
        return super().to_internal_value(data)


class AlertRuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    events = serializers.ListField(child=serializers.ChoiceField(choices=AlertEventType.choices), min_length=1)
    destination = DestinationInputSerializer()
    enabled = serializers.BooleanField(required=False, default=True)


class DestinationSerializer(serializers.Serializer):
    type = serializers.CharField()
    url = serializers.CharField(required=False, help_text="Masked: scheme://host/... (the URL may hold a token).")
    to = serializers.ListField(child=serializers.CharField(), required=False)


class AlertRuleSerializer(serializers.ModelSerializer):
    destination = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = ["id", "name", "events", "destination", "enabled", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(DestinationSerializer)
    def get_destination(self, rule) -> dict:
        if rule.destination_type == DestinationType.EMAIL:
            return {"type": rule.destination_type, "to": list(rule.to)}
        return {"type": rule.destination_type, "url": rule.url_masked}


class AlertRuleCreatedSerializer(AlertRuleSerializer):
    signing_secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="webhook: the secret that signs every delivery (X-DataXPipe-Signature). Shown only in this "
        "response; null for other destinations.",
    )

    class Meta(AlertRuleSerializer.Meta):
        fields = [*AlertRuleSerializer.Meta.fields, "signing_secret"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "attempted_at", "succeeded", "status_code", "error", "duration_ms", "response_excerpt"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    deliveries = DeliveryAttemptSerializer(source="delivery_attempts", many=True, read_only=True)
    pipeline = serializers.CharField(source="pipeline_name", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "event",
            "state",
            "pipeline",
            "run_id",
            "result_id",
            "check_id",
            "late_slot",
            "payload",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "deliveries",
        ]
        read_only_fields = fields
