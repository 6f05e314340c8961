from django.urls import re_path

from config.routers import OptionalSlashRouter
from orgs.api.views import ApiKeyViewSet, OrganizationMeView

router = OptionalSlashRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [
    re_path(r"^organizations/me/?$", OrganizationMeView.as_view(), name="organization-me"),
    *router.urls,
]
