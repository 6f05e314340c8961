from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connected after dj-stripe's own handlers (djstripe comes first in INSTALLED_APPS), so a
        # subscription event reaches ours once dj-stripe has re-fetched and stored the subscription.
        import stripe
        from django.conf import settings

        from billing import checks, handlers  # noqa: F401

        # One client for every Stripe call (ours and dj-stripe's), with a timeout shorter than a
        # gunicorn worker's, so a slow Stripe yields a 502 rather than a killed worker.
        stripe.default_http_client = stripe.RequestsClient(timeout=settings.BILLING_STRIPE_TIMEOUT_SECONDS)
