"""System checks: a price mapped to a plan that does not exist would silently grant nothing."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from orgs.models import Plan


@register(Tags.compatibility)
def check_price_plans(app_configs, **kwargs):
    errors = []
    for price_id, plan in settings.STRIPE_PRICE_PLANS.items():
        if plan not in (Plan.TEAM, Plan.ENTERPRISE):
            errors.append(
                Error(
                    f"STRIPE_PRICE_PLANS maps {price_id} to '{plan}', which is not a paid plan.",
                    hint="Use team or enterprise, e.g. STRIPE_PRICE_PLANS=price_123:team,price_456:enterprise",
                    id="billing.E001",
                )
            )
    for plan in Plan.values:
        if plan not in settings.PLAN_LIMITS:
            errors.append(Error(f"PLAN_LIMITS has no entry for the '{plan}' plan.", id="billing.E002"))
    return errors
