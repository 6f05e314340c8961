"""No secret anywhere: every response body and log line of the test session, scanned for secrets.

How it works (installed for the whole suite by tests/conftest.py and config/test_settings.py):
- A registry of known secrets is filled where secrets are born: every API key the service
  generates (`orgs.keys.generate_key`), every user password set (`set_password`), every DSN
  password the catalog encrypts (`encrypt_secret`), every `*_secret` reference resolved
  (`resolve_reference`), every OIDC access token the backend sees, every Stripe webhook secret
  saved, and the deployment's own secrets in settings (SECRET_KEY, pepper, Stripe and OIDC keys).
- `RecordingMiddleware` (outermost) copies each response body; `RecordingHandler` (on the root
  logger, behind the same redaction filter as the console) copies each formatted log line.
- At the end of every test, its texts are scanned for the secrets born in that test and the
  session-wide ones. An API key may appear in ONE response (the one that shows it at creation);
  any other secret in any response, and any secret in any log line, is a leak. A leak fails that
  test (at teardown, naming the response or logger) and the session summary lists it again.

Secrets shorter than MIN_SECRET_LENGTH are not tracked: short test values ("pw") would match
ordinary text; the rule is about real secrets, which are long.
"""

import logging
import re
import sys
import threading
from dataclasses import dataclass, field

MIN_SECRET_LENGTH = 8
_KEY_SHAPE = re.compile(r"dxp_[A-Za-z0-9]{48}")
# A webhook signing secret (alerts.signing) may also be shown in ONE response, the one that created it.
_SIGNING_SECRET_SHAPE = re.compile(r"whsec_[A-Za-z0-9]{40}")
_SHOWN_ONCE = {"api key": _KEY_SHAPE, "signing secret": _SIGNING_SECRET_SHAPE}
_TEXT_TYPES = ("application/json", "text/", "application/javascript", "application/xml", "application/problem")


@dataclass
class _State:
    test: str | None = None
    secrets: dict = field(default_factory=dict)  # secret -> kind, born in the current test
    session_secrets: dict = field(default_factory=dict)  # born outside any test
    texts: list = field(default_factory=list)  # (place, text)
    findings: list = field(default_factory=list)  # every leak of the session


_state = _State()
_lock = threading.Lock()


def register(secret, kind: str) -> None:
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        target = _state.secrets if _state.test else _state.session_secrets
        target.setdefault(secret, kind)


def record(place: str, text: str) -> None:
    with _lock:
        if _state.test is not None:
            _state.texts.append((place, text))


def begin(test: str) -> None:
    with _lock:
        _state.test, _state.secrets, _state.texts = test, {}, []


def finish() -> list[str]:
    """Scans the current test's texts; returns (and keeps) the leaks found."""
    with _lock:
        test, texts = _state.test, _state.texts
        secrets = {**_state.session_secrets, **_state.secrets}
        _state.test, _state.secrets, _state.texts = None, {}, []
    leaks = _scan(texts, secrets)
    found = [f"{test}: {leak}" for leak in leaks]
    _state.findings.extend(found)
    return found


def findings() -> list[str]:
    return list(_state.findings)


def _scan(texts, secrets) -> list[str]:
    leaks = []
    key_seen_in: dict[str, str] = {}
    plain = {secret: kind for secret, kind in secrets.items() if kind not in _SHOWN_ONCE}
    for place, text in texts:
        for kind, shape in _SHOWN_ONCE.items():
            for candidate in set(shape.findall(text)):
                if secrets.get(candidate) != kind:
                    continue
                name = "an API key" if kind == "api key" else f"a {kind}"
                if place.startswith("log"):
                    leaks.append(f"{name} ({candidate[:8]}…) in {place}")
                elif candidate in key_seen_in:
                    leaks.append(
                        f"{name} ({candidate[:8]}…) shown again in {place} (already shown in {key_seen_in[candidate]})"
                    )
                else:
                    key_seen_in[candidate] = place
        for secret, kind in plain.items():
            if secret in text:
                leaks.append(f"a {kind} ({secret[:3]}…) in {place}")
    return leaks


# --- Capture ----------------------------------------------------------------------------------


class RecordingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _register_settings_secrets()
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if not getattr(response, "streaming", False) and content_type.startswith(_TEXT_TYPES):
            text = response.content.decode("utf-8", errors="replace")
            record(f"response to {request.method} {request.get_full_path()} ({response.status_code})", text)
        return response


class RecordingHandler(logging.Handler):
    def emit(self, record_):
        try:
            text = self.format(record_)
        except Exception:  # a broken log call is not this handler's business
            return
        record(f"log record of {record_.name!r} ({record_.levelname})", text)


def _register_settings_secrets():
    import os

    from django.conf import settings

    for name in ("SECRET_KEY", "DATAXPIPE_API_KEY_PEPPER", "STRIPE_SECRET_KEY", "OIDC_RP_CLIENT_SECRET"):
        register(getattr(settings, name, ""), f"setting {name}")
    for name in ("SECRET_KEY_FALLBACKS", "DATAXPIPE_API_KEY_PEPPER_FALLBACKS"):
        for value in getattr(settings, name, None) or []:
            register(value, f"setting {name}")
    register(os.environ.get("VAULT_TOKEN", ""), "VAULT_TOKEN")


# --- Where secrets are born ---------------------------------------------------------------------

_installed = False


def _replace_everywhere(original, wrapper):
    """Rebinds `original` in every already-imported module of the project that holds it by name."""
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.split(".")[0] not in ("orgs", "catalog", "checks", "lineage", "billing", "alerts", "console", "config"):
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                setattr(module, attribute, wrapper)


def install():
    global _installed
    if _installed:
        return
    _installed = True
    import importlib

    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.models.signals import post_save

    for module in ("orgs.keys", "orgs.services", "catalog.secrets", "catalog.services", "orgs.oidc", "alerts.signing"):
        importlib.import_module(module)
    from alerts import signing
    from catalog import secrets as catalog_secrets
    from orgs import keys
    from orgs.oidc import CatalogOIDCBackend

    original_generate = keys.generate_key

    def generate_key():
        full_key, prefix = original_generate()
        register(full_key, "api key")
        return full_key, prefix

    original_encrypt = catalog_secrets.encrypt_secret

    def encrypt_secret(value):
        register(value, "DSN password")
        return original_encrypt(value)

    original_resolve = catalog_secrets.resolve_reference

    def resolve_reference(reference, *args, **kwargs):
        value = original_resolve(reference, *args, **kwargs)
        register(value, f"resolved secret of {reference.split('#')[0].split(':')[0]}: reference")
        return value

    original_signing_secret = signing.generate_signing_secret

    def generate_signing_secret():
        secret = original_signing_secret()
        register(secret, "signing secret")
        return secret

    _replace_everywhere(original_signing_secret, generate_signing_secret)
    _replace_everywhere(original_generate, generate_key)
    _replace_everywhere(original_encrypt, encrypt_secret)
    _replace_everywhere(original_resolve, resolve_reference)

    original_set_password = AbstractBaseUser.set_password

    def set_password(self, raw_password):
        register(raw_password, "user password")
        return original_set_password(self, raw_password)

    AbstractBaseUser.set_password = set_password

    original_userinfo = CatalogOIDCBackend.get_userinfo

    def get_userinfo(self, access_token, id_token, payload):
        register(access_token, "OIDC access token")
        return original_userinfo(self, access_token, id_token, payload)

    CatalogOIDCBackend.get_userinfo = get_userinfo

    try:
        from djstripe.models import WebhookEndpoint
    except ImportError:  # pragma: no cover - dj-stripe is a requirement
        return

    def webhook_saved(sender, instance, **kwargs):
        register(getattr(instance, "secret", ""), "Stripe webhook secret")

    post_save.connect(webhook_saved, sender=WebhookEndpoint, weak=False)
