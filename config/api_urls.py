"""/api/v1/: each domain app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("orgs.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("checks.api.urls")),
    path("", include("lineage.api.urls")),
    path("", include("billing.api.urls")),
]
