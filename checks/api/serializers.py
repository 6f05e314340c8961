from rest_framework import serializers

from checks.models import CheckExecution, CheckResult, CheckStatus, ExecutionState, Severity


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


DEFAULT_WAIT_SECONDS = 20
MAX_WAIT_SECONDS = 60


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
    wait_seconds = serializers.IntegerField(
        required=False,
        default=DEFAULT_WAIT_SECONDS,
        min_value=0,
        max_value=MAX_WAIT_SECONDS,
        help_text="Seconds to wait for the result (201) before answering 202 with the execution; 0: 202 at once.",
    )


class CheckExecutionSerializer(serializers.ModelSerializer):
    """GET /checks/executions/<id>: where an execution stands and, once it ended, its result."""

    state = serializers.SerializerMethodField()
    result = CheckResultSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CheckExecution
        fields = [
            "execution_id",
            "state",
            "check_id",
            "connection_id",
            "created_at",
            "started_at",
            "finished_at",
            "error_message",
            "result",
        ]
        read_only_fields = fields

    def get_state(self, execution) -> str:
        # Dispatched (sent to a worker, not picked up yet) is still waiting, as far as the caller can tell.
        return ExecutionState.QUEUED if execution.state == ExecutionState.DISPATCHED else execution.state
