from rest_framework import serializers

from billing.services import PAID_PLANS


class CheckoutRequestSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(choices=[str(plan) for plan in PAID_PLANS])


class SessionUrlSerializer(serializers.Serializer):
    url = serializers.URLField(read_only=True, help_text="Send the browser here (Stripe-hosted page).")
