"""/api/v1/: each app contributes its own routes; a path is routed by exactly one app.

workflows routes the endpoints whose answers compose several apps (pipelines, runs, lineage,
organizations/me); lineage has no routes of its own.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("orgs.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("checks.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("alerts.api.urls")),
]
