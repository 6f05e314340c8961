from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import services
from billing.api.serializers import CheckoutRequestSerializer, SessionUrlSerializer
from orgs.models import Role
from orgs.viewsets import OrganizationScopedMixin

COMMON_ERRORS = {
    403: OpenApiResponse(description="The caller's role is not admin."),
    502: OpenApiResponse(description="Stripe could not complete the request."),
    503: OpenApiResponse(description="Billing is not configured (no STRIPE_SECRET_KEY)."),
}


class BillingView(OrganizationScopedMixin, APIView):
    """Billing acts only on the caller's own organization; no Stripe id is ever taken from the request."""

    write_role = Role.ADMIN


class CheckoutView(BillingView):
    @extend_schema(
        request=CheckoutRequestSerializer,
        responses={
            200: SessionUrlSerializer,
            400: OpenApiResponse(description="Unknown plan, or a plan with no Stripe price configured."),
            409: OpenApiResponse(description="Already subscribed: change the plan in the billing portal."),
            **COMMON_ERRORS,
        },
    )
    def post(self, request):
        """Starts a Stripe Checkout Session (subscription mode) for the wanted plan; answers its URL."""
        payload = CheckoutRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        url = services.create_checkout_session(self.organization, payload.validated_data["plan"])
        return Response({"url": url})


class PortalView(BillingView):
    @extend_schema(request=None, responses={200: SessionUrlSerializer, **COMMON_ERRORS})
    def post(self, request):
        """Opens a Stripe Billing Portal session for the organization's customer; answers its URL."""
        return Response({"url": services.create_portal_session(self.organization)})
