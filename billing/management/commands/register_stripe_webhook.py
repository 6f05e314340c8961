"""Registers an existing Stripe webhook endpoint's signing secret with dj-stripe.

For endpoints made outside dj-stripe's admin (Stripe dashboard, `stripe listen` in development):
Stripe shows their `whsec_...` secret once, and dj-stripe verifies signatures against it.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from djstripe.models import WebhookEndpoint
from djstripe.settings import djstripe_settings


class Command(BaseCommand):
    help = "Store a Stripe webhook signing secret (read from an environment variable) and print the webhook path."

    def add_arguments(self, parser):
        parser.add_argument(
            "endpoint_id", help="Stripe's id of the endpoint (we_...), or any stable name for `stripe listen`."
        )
        parser.add_argument("--url", default="", help="The public URL Stripe posts to (informational).")
        parser.add_argument(
            "--secret-env",
            default="STRIPE_WEBHOOK_SECRET",
            help="Environment variable holding the whsec_ secret (kept off the command line and shell history).",
        )

    def handle(self, *args, endpoint_id, url, secret_env, **options):
        secret = os.environ.get(secret_env, "")
        if not secret.startswith("whsec_"):
            raise CommandError(f"Set {secret_env} to the endpoint's signing secret (whsec_...).")
        endpoint, created = WebhookEndpoint.objects.update_or_create(
            id=endpoint_id,
            defaults={
                "secret": secret,
                "livemode": settings.STRIPE_LIVE_MODE,
                "url": url or "https://localhost/stripe/webhook/",
                "enabled_events": ["*"],
                "status": "enabled",
                "api_version": djstripe_settings.STRIPE_API_VERSION,
            },
        )
        self.stdout.write(f"{'Registered' if created else 'Updated'} webhook endpoint {endpoint.id}. Point Stripe at:")
        self.stdout.write(f"/stripe/webhook/{endpoint.djstripe_uuid}/")
