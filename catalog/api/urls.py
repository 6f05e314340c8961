from catalog.api.views import ConnectionViewSet, PipelineViewSet, RunViewSet
from config.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("runs", RunViewSet, basename="run")
router.register("connections", ConnectionViewSet, basename="connection")

urlpatterns = router.urls
