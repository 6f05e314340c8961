"""dj-stripe's webhook view behind one guard: billing must be configured to process an event.

Without a Stripe secret key, dj-stripe would try to re-fetch the event from Stripe's API and
fail with an exception (a 500). The guard answers 503 instead: a clear, retryable refusal
(Stripe retries failed deliveries, so no event is lost once the key is set). A request without
a Stripe signature still gets dj-stripe's 400 first, whatever the configuration.
"""

from django.http import HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from djstripe.settings import djstripe_settings
from djstripe.views import ProcessWebhookView

_process = ProcessWebhookView.as_view()


def stripe_key_configured() -> bool:
    return bool(djstripe_settings.TEST_API_KEY or djstripe_settings.LIVE_API_KEY or djstripe_settings.STRIPE_SECRET_KEY)


@csrf_exempt
def stripe_webhook(request, uuid):
    if request.method == "POST" and not stripe_key_configured():
        if "stripe-signature" not in request.headers:
            return HttpResponseBadRequest()
        return JsonResponse(
            {
                "detail": "Billing is not configured on this deployment (no Stripe secret key); "
                "the event was not processed. Stripe will retry the delivery.",
                "code": "billing_not_configured",
            },
            status=503,
        )
    return _process(request, uuid=uuid)
