"""manage.py register_stripe_webhook: the stored secret is the one signatures are checked against."""

import pytest
from django.core.management import CommandError, call_command

from orgs.models import Plan
from tests.billing.fake_stripe import make_event, signed_headers


def test_registered_secret_verifies_webhooks(make_org, subscribe, monkeypatch, capsys, client):
    import json

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_stripe_listen")
    call_command("register_stripe_webhook", "we_local_cli")
    path = capsys.readouterr().out.strip().splitlines()[-1]
    organization = make_org("acme", plan=Plan.FREE)
    payload = json.dumps(make_event("customer.subscription.created", subscribe(organization)))

    forged = client.post(path, data=payload, content_type="application/json", **signed_headers(payload))
    accepted = client.post(
        path,
        data=payload,
        content_type="application/json",
        **signed_headers(payload, secret="whsec_from_stripe_listen"),
    )

    assert (forged.status_code, accepted.status_code) == (400, 200)
    organization.refresh_from_db()
    assert organization.plan == Plan.TEAM


def test_a_missing_secret_is_refused(db, monkeypatch):
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)

    with pytest.raises(CommandError, match="STRIPE_WEBHOOK_SECRET"):
        call_command("register_stripe_webhook", "we_local_cli")
