from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"

    def ready(self):
        from django.conf import settings

        if getattr(settings, "METRICS_ENABLED", False):
            from checks import metrics

            metrics.register()
