"""OIDC bearer tokens (the product UI) through mozilla-django-oidc's DRF authentication.

The stock backend asks the provider's userinfo endpoint on every request; here the answer is
cached per token (keyed by the token's SHA-256, never the token itself) for
OIDC_USERINFO_CACHE_SECONDS, and never past the token's own `exp` when it carries one.
"""

import base64
import hashlib
import json
import logging
import time

import requests
from django.conf import settings
from django.core.cache import cache
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from rest_framework import exceptions

from orgs import keys
from orgs.authentication import REALM, SCAFFOLD_KEY_ROLES
from orgs.models import Membership
from orgs.principal import Principal

logger = logging.getLogger(__name__)

ORGANIZATION_HEADER = "HTTP_X_ORGANIZATION"


class IdentityProviderUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The identity provider did not answer; retry later."
    default_code = "identity_provider_unavailable"


def _unverified_expiry(token: str) -> int | None:
    """The `exp` claim of a JWT, read only to bound the cache lifetime (the provider verifies)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        exp = json.loads(base64.urlsafe_b64decode(padded)).get("exp")
    except (ValueError, AttributeError):
        return None
    return int(exp) if isinstance(exp, int | float) else None


class CatalogOIDCBackend(OIDCAuthenticationBackend):
    def get_userinfo(self, access_token, id_token, payload):
        cache_key = "oidc-userinfo:" + hashlib.sha256(access_token.encode()).hexdigest()
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
        expiry = _unverified_expiry(access_token)
        if expiry is not None and expiry <= time.time():
            raise exceptions.AuthenticationFailed("The token has expired.")
        userinfo = super().get_userinfo(access_token, id_token, payload)
        ttl = settings.OIDC_USERINFO_CACHE_SECONDS
        if expiry is not None:
            ttl = min(ttl, int(expiry - time.time()))
        if ttl > 0:
            cache.set(cache_key, userinfo, ttl)
        return userinfo


class CatalogOIDCAuthentication(OIDCAuthentication):
    def __init__(self, backend=None):
        # The backend is built lazily: with OIDC unconfigured, API-key calls must not pay for it.
        self._backend = backend

    @property
    def backend(self):
        if self._backend is None:
            self._backend = CatalogOIDCBackend()
        return self._backend

    def authenticate(self, request):
        token = self.get_access_token(request)
        if token is None or keys.looks_like_api_key(token) or token in SCAFFOLD_KEY_ROLES:
            return None
        if not settings.OIDC_ENABLED:
            raise exceptions.AuthenticationFailed("Bearer tokens are not accepted: OIDC is not configured.")
        try:
            result = super().authenticate(request)
        except requests.HTTPError as exc:
            if exc.response is not None and exc.response.status_code in (400, 401, 403):
                raise exceptions.AuthenticationFailed("The identity provider rejected the token.") from exc
            raise IdentityProviderUnavailable() from exc
        except requests.RequestException as exc:
            logger.warning("OIDC userinfo request failed: %s", exc.__class__.__name__)
            raise IdentityProviderUnavailable() from exc
        user, token = result
        return user, _principal_for_user(request, user)

    def authenticate_header(self, request):
        return REALM


def _principal_for_user(request, user) -> Principal:
    memberships = Membership.objects.select_related("organization").filter(user=user, organization__is_active=True)
    wanted_slug = request.META.get(ORGANIZATION_HEADER)
    if wanted_slug:
        memberships = memberships.filter(organization__slug=wanted_slug)
    found = list(memberships[:2])
    if not found:
        raise exceptions.PermissionDenied("This user is not a member of any (such) organization.")
    if len(found) > 1:
        raise exceptions.PermissionDenied(
            "This user belongs to several organizations: name one in the X-Organization header."
        )
    membership = found[0]
    return Principal(organization=membership.organization, role=membership.role, user_id=user.pk)
