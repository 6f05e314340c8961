"""config/logging.py: a JSON secret (a service-account key) is masked by its string leaves; only its public
endpoint URLs stay readable, not a URL that carries a credential."""

import json

import pytest

from config.logging import REDACTED, redact_values

TOKEN = "tok_4f9a8b7c6d5e4f3a2b1c"


def service_account(**extra) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
            "token_uri": "https://oauth2.googleapis.com/token",
            **extra,
        }
    )


def test_the_public_token_uri_stays_readable_and_the_key_body_is_masked():
    text = "POST https://oauth2.googleapis.com/token failed; key MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    redacted = redact_values(text, [service_account()])
    assert "https://oauth2.googleapis.com/token" in redacted
    assert "MIIEvQIB" not in redacted and REDACTED in redacted


@pytest.mark.parametrize(
    "url",
    [
        f"https://hooks.example.com/notify?token={TOKEN}",
        f"https://robot:{TOKEN}@warehouse.example.com/",
        f"https://app.example.com/callback#{TOKEN}",
    ],
)
def test_a_url_leaf_that_carries_a_credential_is_masked(url):
    redacted = redact_values(f"could not reach {url}", [service_account(webhook=url)])
    assert TOKEN not in redacted
    assert TOKEN[:12] not in redacted
