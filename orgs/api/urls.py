from django.urls import re_path
from rest_framework.routers import SimpleRouter

from orgs.api.views import ApiKeyViewSet, OrganizationMeView

router = SimpleRouter(trailing_slash="/?")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [
    re_path(r"^organizations/me/?$", OrganizationMeView.as_view(), name="organization-me"),
    *router.urls,
]
