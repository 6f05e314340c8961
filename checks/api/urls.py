from django.urls import re_path
from rest_framework.routers import SimpleRouter

from checks.api.views import CheckResultViewSet, ExecuteCheckView

router = SimpleRouter(trailing_slash="/?")
router.register("checks/results", CheckResultViewSet, basename="check-result")

urlpatterns = [
    re_path(r"^checks/execute/?$", ExecuteCheckView.as_view(), name="check-execute"),
    *router.urls,
]
