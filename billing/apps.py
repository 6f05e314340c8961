from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connected after dj-stripe's own handlers (djstripe comes first in INSTALLED_APPS), so a
        # subscription event reaches ours once dj-stripe has re-fetched and stored the subscription.
        from billing import checks, handlers  # noqa: F401
