"""Datasets and the indexed edge table that lineage walks recurse over."""

from django.db import models
from django.utils import timezone

from orgs.models import Organization


class Dataset(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="datasets")
    # The id used in pipeline.json (source, transform and target ids) or an OpenLineage dataset name.
    dataset_id = models.CharField(max_length=500)
    # OpenLineage namespace; empty for datasets declared by pipeline.json.
    namespace = models.CharField(max_length=500, blank=True, default="")
    connection_id = models.CharField(max_length=100, blank=True)
    table = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "pipeline"], name="uniq_edge_source_target_pipeline")
        ]
        indexes = [
            models.Index(fields=["organization", "source"], name="edge_org_source"),
            models.Index(fields=["organization", "target"], name="edge_org_target"),
        ]

    def __str__(self):
        return f"{self.source_id} -> {self.target_id}"
