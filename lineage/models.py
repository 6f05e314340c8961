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
    # The physical table or file in OpenLineage's naming (lineage/naming.py), e.g.
    # "postgres://db.example.com:5432/shop.public.orders": what makes a pipeline.json dataset and an
    # OpenLineage dataset of the same table one node. Empty when unknown. The digest (SHA-256 of the
    # name) carries the uniqueness, since names can outgrow an index entry.
    physical_name = models.TextField(blank=True, default="")
    physical_digest = models.CharField(max_length=64, blank=True, default="")
    # The latest `schema` facet's fields ([{"name", "type", "description"?, "fields"?}]), as reported.
    schema_fields = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["dataset_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dataset_id", "namespace"], name="uniq_dataset_org_id_namespace"
            ),
            models.UniqueConstraint(
                fields=["organization", "physical_digest"],
                condition=~models.Q(physical_digest=""),
                name="uniq_dataset_org_physical",
            ),
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


class ColumnLineageEdge(models.Model):
    """One column of a dataset derived from a column of another (the `columnLineage` facet)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="column_sources")
    target_column = models.CharField(max_length=500)
    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="column_readers")
    source_column = models.CharField(max_length=500)
    # The facet's transformation (1-2-0: type DIRECT/INDIRECT, subtype IDENTITY, AGGREGATION...), or the
    # older `transformationType` / `transformationDescription`; empty when the producer gave none.
    transformation_type = models.CharField(max_length=100, blank=True, default="")
    transformation_subtype = models.CharField(max_length=100, blank=True, default="")
    transformation_description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "target_column", "source", "source_column"], name="uniq_column_edge"
            )
        ]
        # The upstream walk looks up (organization, dataset, column) and reads the other end from the index.
        indexes = [
            models.Index(
                fields=["organization", "target", "target_column", "source", "source_column"],
                name="column_edge_upstream_walk",
            ),
            models.Index(fields=["source"], name="column_edge_source"),
        ]

    def __str__(self):
        return f"{self.source_id}.{self.source_column} -> {self.target_id}.{self.target_column}"


class EventKind(models.TextChoices):
    RUN = "run", "RunEvent"
    JOB = "job", "JobEvent"
    DATASET = "dataset", "DatasetEvent"


class OpenLineageEvent(models.Model):
    """An accepted OpenLineage event, kept as received (secrets masked) for audit and replay.

    A RunEvent is unique on (organization, run_id, event_type, event_time); a JobEvent or DatasetEvent
    (static lineage: no run, run_id and event_type empty) on (organization, subject_digest, event_time),
    the digest naming its job or dataset. A redelivered event is recognised and changes nothing.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="openlineage_events")
    kind = models.CharField(max_length=10, choices=EventKind.choices, default=EventKind.RUN)
    subject_digest = models.CharField(max_length=64, blank=True, default="")
    run_id = models.CharField(max_length=250, blank=True)
    event_type = models.CharField(max_length=20)
    event_time = models.DateTimeField()
    # Empty for a DatasetEvent (its dataset is in the payload).
    job_namespace = models.CharField(max_length=500, blank=True)
    job_name = models.CharField(max_length=200, blank=True)
    producer = models.CharField(max_length=1000, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationScopedManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "run_id", "event_type", "event_time"],
                condition=models.Q(kind="run"),
                name="uniq_ol_event_run_type_time",
            ),
            models.UniqueConstraint(
                fields=["organization", "subject_digest", "event_time"],
                condition=~models.Q(kind="run"),
                name="uniq_ol_static_event",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-received_at", "-id"], name="ol_event_org_history"),
            models.Index(fields=["organization", "run_id", "event_time"], name="ol_event_org_run"),
        ]

    def __str__(self):
        if self.kind != EventKind.RUN:
            return f"{self.get_kind_display()} {self.job_name}".strip()
        return f"{self.event_type} {self.job_name} {self.run_id}"
