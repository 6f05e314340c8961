from django.urls import re_path

from billing.api.views import CheckoutView, PortalView

urlpatterns = [
    re_path(r"^billing/checkout/?$", CheckoutView.as_view(), name="billing-checkout"),
    re_path(r"^billing/portal/?$", PortalView.as_view(), name="billing-portal"),
]
