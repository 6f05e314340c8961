from datetime import datetime

from rest_framework import serializers

from orgs.models import ApiKey, Organization, Role


class OrganizationMeSerializer(serializers.ModelSerializer):
    limits = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()
    usage_period = serializers.SerializerMethodField(help_text="First day of the month the monthly usage counts.")
    role = serializers.SerializerMethodField()
    billing = serializers.SerializerMethodField()
    history_cutoff = serializers.SerializerMethodField(
        help_text="Runs, check results and OpenLineage events recorded before this moment are purged "
        "(limits.history_days); null when the plan keeps all history."
    )

    class Meta:
        model = Organization
        fields = [
            "slug",
            "name",
            "plan",
            "role",
            "limits",
            "usage",
            "usage_period",
            "billing",
            "history_cutoff",
            "created_at",
        ]
        read_only_fields = fields

    def get_limits(self, organization) -> dict:
        return self.context["limits"]

    def get_usage(self, organization) -> dict:
        return self.context["usage"]

    def get_usage_period(self, organization) -> str:
        return self.context["usage_period"].isoformat()

    def get_role(self, organization) -> str:
        return self.context["role"]

    def get_billing(self, organization) -> dict:
        return self.context["billing"]

    def get_history_cutoff(self, organization) -> datetime | None:
        cutoff = self.context.get("history_cutoff")
        return None if cutoff is None else serializers.DateTimeField().to_representation(cutoff)


class ApiKeySerializer(serializers.ModelSerializer):
    masked = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "role", "masked", "state", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = ["id", "masked", "state", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.WRITE)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
