from config.routers import OptionalSlashRouter
from orgs.api.views import ApiKeyViewSet

# /organizations/me shows billing's summary, which orgs may not import: workflows.api routes it.
router = OptionalSlashRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
