from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations and API keys"

    def ready(self):
        from orgs import schema  # noqa: F401  (registers the OpenAPI auth schemes)
