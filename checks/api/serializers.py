from rest_framework import serializers

from checks.models import CheckResult, CheckStatus, Severity


class CheckResultSerializer(serializers.ModelSerializer):
    """A recorded result. Reusable by the catalog's run detail (select_related pipeline, run, dataset)."""

    pipeline = serializers.CharField(source="pipeline.name", default=None, allow_null=True, read_only=True)
    run_id = serializers.CharField(source="run.run_id", default=None, allow_null=True, read_only=True)
    dataset = serializers.CharField(source="dataset.dataset_id", default=None, allow_null=True, read_only=True)

    class Meta:
        model = CheckResult
        fields = [
            "result_id",
            "check_id",
            "status",
            "violations",
            "threshold",
            "severity",
            "pipeline",
            "run_id",
            "dataset",
            "connection_id",
            "sql",
            "duration_ms",
            "executed_at",
            "error_message",
        ]
        read_only_fields = fields


class _CheckRequestFields(serializers.Serializer):
    check_id = serializers.CharField(max_length=200)
    result_id = serializers.RegexField(r"^[A-Za-z0-9_.:\-]+$", max_length=200, required=False)
    run_id = serializers.CharField(max_length=250, required=False, allow_null=True, allow_blank=True)
    pipeline = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    dataset = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    threshold = serializers.FloatField(required=False, min_value=0)


class RecordResultSerializer(_CheckRequestFields):
    """POST /checks/results: a result computed elsewhere (a generated check script, another tool)."""

    status = serializers.ChoiceField(choices=CheckStatus.choices, required=False)
    violations = serializers.FloatField(required=False, allow_null=True, min_value=0)
    connection_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    sql = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    duration_ms = serializers.FloatField(required=False, allow_null=True, min_value=0)
    executed_at = serializers.DateTimeField(required=False)
    error_message = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class ExecuteCheckSerializer(_CheckRequestFields):
    """POST /checks/execute: SQL to run on one of the organization's connections."""

    connection_id = serializers.CharField(max_length=100, required=False)
    sql = serializers.CharField(required=False, max_length=20_000, trim_whitespace=False)
