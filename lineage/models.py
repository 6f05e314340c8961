"""Datasets, the indexed edge table that lineage walks recurse over, and stored OpenLineage events."""

from django.db import models
from django.utils import timezone

from orgs.models import Organization
from orgs.tenancy import OrganizationScopedManager


class Dataset(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="datasets")
    # The id used in pipeline.json (source, transform and target ids) or an OpenLineage dataset name.
    dataset_id = models.CharField(max_length=500)
    # OpenLineage namespace; empty for datasets declared by pipeline.json.
    namespace = models.CharField(max_length=500, blank=True, default="")
    connection_id = models.CharField(max_length=100, blank=True)
    table = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["dataset_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dataset_id", "namespace"], name="uniq_dataset_org_id_namespace"
            )
        ]

    def __str__(self):
        return self.dataset_id if not self.namespace else f"{self.namespace}/{self.dataset_id}"


class LineageEdge(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="outgoing_edges")
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="incoming_edges")
    pipeline = models.ForeignKey("catalog.Pipeline", on_delete=models.CASCADE, related_name="lineage_edges")
    pipeline_version = models.ForeignKey(
        "catalog.PipelineVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="lineage_edges"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "pipeline"], name="uniq_edge_source_target_pipeline")
        ]
        # Both walk directions read only index columns: the recursive step looks up (organization, node)
        # and needs the other end and the pipeline, so PostgreSQL answers each hop with an index-only scan.
        # The pipeline comes before the other end so that a node's distinct readers (or writers) are read
        # in order and a capped list stops early, even on a hub with thousands of edges.
        indexes = [
            models.Index(fields=["organization", "source", "pipeline", "target"], name="edge_org_source_walk"),
            models.Index(fields=["organization", "target", "pipeline", "source"], name="edge_org_target_walk"),
            models.Index(fields=["pipeline"], name="edge_pipeline"),
        ]

    def __str__(self):
        return f"{self.source_id} -> {self.target_id}"


class OpenLineageEvent(models.Model):
    """An accepted OpenLineage RunEvent, kept as received for audit and replay.

    (organization, run_id, event_type, event_time) is unique: a redelivered event is recognised
    and changes nothing.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="openlineage_events")
    run_id = models.CharField(max_length=250)
    event_type = models.CharField(max_length=20)
    event_time = models.DateTimeField()
    job_namespace = models.CharField(max_length=500)
    job_name = models.CharField(max_length=200)
    producer = models.CharField(max_length=1000, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "run_id", "event_type", "event_time"], name="uniq_ol_event_run_type_time"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-received_at", "-id"], name="ol_event_org_history"),
            models.Index(fields=["organization", "run_id", "event_time"], name="ol_event_org_run"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.job_name} {self.run_id}"
