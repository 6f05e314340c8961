from alerts.api.views import AlertRuleViewSet
from config.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("alerts", AlertRuleViewSet, basename="alert-rule")

urlpatterns = router.urls
