from django.urls import re_path

from checks.api.views import CheckExecutionViewSet, CheckResultViewSet, ExecuteCheckView
from config.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("checks/results", CheckResultViewSet, basename="check-result")
router.register("checks/executions", CheckExecutionViewSet, basename="check-execution")

urlpatterns = [
    re_path(r"^checks/execute/?$", ExecuteCheckView.as_view(), name="check-execute"),
    *router.urls,
]
