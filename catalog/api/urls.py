from catalog.api.views import ConnectionViewSet
from config.routers import OptionalSlashRouter

# `pipelines` and `runs` are routed by workflows.api (their final viewsets compose other apps).
router = OptionalSlashRouter()
router.register("connections", ConnectionViewSet, basename="connection")

urlpatterns = router.urls
