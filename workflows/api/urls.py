from django.urls import re_path

from config.routers import OptionalSlashRouter
from workflows.api.lineage import LineageGraphView, OpenLineageIngestView
from workflows.api.views import OrganizationMeView, PipelineViewSet, RunViewSet

router = OptionalSlashRouter()
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("runs", RunViewSet, basename="run")

# Dataset ids may hold dots, slashes and colons: the id is everything after "lineage/" but an
# optional trailing slash.
urlpatterns = [
    re_path(r"^organizations/me/?$", OrganizationMeView.as_view(), name="organization-me"),
    re_path(r"^lineage/?$", OpenLineageIngestView.as_view(), name="lineage-ingest"),
    re_path(r"^lineage/(?P<dataset_id>.+?)/?$", LineageGraphView.as_view(), name="lineage-graph"),
    *router.urls,
]
