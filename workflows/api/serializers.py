"""Representations that compose several apps: a run (catalog) with its check results and health (checks)."""

from rest_framework import serializers

from catalog.api.serializers import RunSerializer
from checks.health import breaking_count, run_health


class RunCheckResultSerializer(serializers.Serializer):
    result_id = serializers.CharField()
    check_id = serializers.CharField()
    status = serializers.CharField()
    severity = serializers.CharField()
    violations = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    executed_at = serializers.DateTimeField()
    error_message = serializers.CharField()


class RunDetailSerializer(RunSerializer):
    """A run with its check results (prefetched as `prefetched_check_results`) and a health verdict."""

    check_results = serializers.SerializerMethodField()
    failed_error_checks = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "health", "failed_error_checks", "check_results"]
        read_only_fields = fields

    def get_check_results(self, run) -> list[dict]:
        return RunCheckResultSerializer(run.prefetched_check_results, many=True).data

    # The verdict is checks' rule (checks.health), applied to the prefetched results: no query of its own.
    def get_failed_error_checks(self, run) -> int:
        return breaking_count(run.prefetched_check_results)

    def get_health(self, run) -> str:
        """failing: an error-severity check failed; degraded: a warning failed or a check could not run;
        passing: every check passed; no_checks: nothing recorded yet."""
        return run_health(run.prefetched_check_results)
