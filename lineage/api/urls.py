from django.urls import re_path

from lineage.api.views import LineageGraphView, OpenLineageIngestView

# Dataset ids may hold dots, slashes and colons: the id is everything after "lineage/" but an
# optional trailing slash.
urlpatterns = [
    re_path(r"^lineage/?$", OpenLineageIngestView.as_view(), name="lineage-ingest"),
    re_path(r"^lineage/(?P<dataset_id>.+?)/?$", LineageGraphView.as_view(), name="lineage-graph"),
]
