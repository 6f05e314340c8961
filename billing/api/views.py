from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import services
from billing.api.serializers import CheckoutRequestSerializer, SessionUrlSerializer
from orgs.models import Role
from orgs.viewsets import OrganizationScopedMixin


class BillingView(OrganizationScopedMixin, APIView):
    """Billing acts only on the caller's own organization; no Stripe id is ever taken from the request."""

    write_role = Role.ADMIN


class CheckoutView(BillingView):
    @extend_schema(request=CheckoutRequestSerializer, responses={200: SessionUrlSerializer})
    def post(self, request):
        payload = CheckoutRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        url = services.create_checkout_session(self.organization, payload.validated_data["plan"])
        return Response({"url": url})


class PortalView(BillingView):
    @extend_schema(request=None, responses={200: SessionUrlSerializer})
    def post(self, request):
        return Response({"url": services.create_portal_session(self.organization)})
