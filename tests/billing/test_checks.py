"""System check: STRIPE_PRICE_PLANS may only map prices to paid plans."""

from billing.checks import check_price_plans


def test_a_price_mapped_to_free_or_an_unknown_plan_is_an_error(settings):
    settings.STRIPE_PRICE_PLANS = {"price_ok": "team", "price_free": "free", "price_typo": "teams"}

    errors = check_price_plans(None)

    assert [e.id for e in errors] == ["billing.E001", "billing.E001"]
    assert "price_free" in errors[0].msg and "price_typo" in errors[1].msg


def test_the_default_settings_pass(settings):
    assert check_price_plans(None) == []
