from django.urls import re_path

from checks.api.views import CheckResultViewSet, ExecuteCheckView
from config.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("checks/results", CheckResultViewSet, basename="check-result")

urlpatterns = [
    re_path(r"^checks/execute/?$", ExecuteCheckView.as_view(), name="check-execute"),
    *router.urls,
]
