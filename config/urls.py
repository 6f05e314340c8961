from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.health import health, ready
from config.stripe_webhook import stripe_webhook

urlpatterns = [
    path("health", health, name="health"),
    path("health/", health),
    path("ready", ready, name="ready"),
    path("ready/", ready),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
        name="api-redoc",
    ),
    path("api/v1/", include("config.api_urls")),
    # Ahead of dj-stripe's own route: the same URL, guarded (see config/stripe_webhook.py).
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="stripe-webhook"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]

if settings.METRICS_ENABLED:
    from django_prometheus.exports import ExportToDjangoView

    urlpatterns += [path("metrics", ExportToDjangoView, name="metrics"), path("metrics/", ExportToDjangoView)]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
