"""OIDC bearer tokens (the product UI) through mozilla-django-oidc's DRF authentication.

The stock backend asks the provider's userinfo endpoint on every request; here the answer is
cached per token (keyed by the token's SHA-256, never the token itself) for
OIDC_USERINFO_CACHE_SECONDS, and never past the token's own `exp` when it carries one.

A token reaches a user only through an OIDCIdentity link of (issuer, subject), never by e-mail
(mozilla-django-oidc's default): an account of the provider whose e-mail equals an existing
user's gets its own new user (OIDC_CREATE_USER) or nothing. The issuer is the configured one
(OIDC_OP_ISSUER, else the userinfo URL), not a claim of the token: the answer comes from the
configured provider, and a userinfo `iss` that contradicts OIDC_OP_ISSUER is refused.
"""

import base64
import hashlib
import json
import logging
import time

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from rest_framework import exceptions

from orgs import keys, services
from orgs.authentication import REALM, SCAFFOLD_KEY_ROLES
from orgs.models import Membership, OIDCIdentity
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


MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core 1.0, 2: `sub` MUST NOT exceed 255 ASCII characters


def configured_issuer() -> str:
    """The namespace of subjects: the provider the catalog is configured to ask."""
    return settings.OIDC_OP_ISSUER or settings.OIDC_OP_USER_ENDPOINT


class CatalogOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims):
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
            return False
        claimed, expected = claims.get("iss"), settings.OIDC_OP_ISSUER
        return not (expected and claimed is not None and claimed != expected)

    def filter_users_by_claims(self, claims):
        # Overrides the e-mail match: any code path of the library that asks gets the linked user only.
        return self.UserModel.objects.filter(
            oidc_identities__issuer=configured_issuer(), oidc_identities__subject=claims.get("sub")
        )

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(userinfo):
            # The DRF class turns this into 401 "Login failed".
            raise SuspiciousOperation("The provider's answer has no usable subject, or another issuer.")
        issuer, subject = configured_issuer(), userinfo["sub"]
        identity = OIDCIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity is not None:
            return identity.user if identity.user.is_active else None
        if not settings.OIDC_CREATE_USER:
            logger.info("OIDC login refused: unknown subject and OIDC_CREATE_USER is off")
            return None
        return services.create_oidc_user(issuer=issuer, subject=subject, email=_storable_email(userinfo.get("email")))

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


def _storable_email(value) -> str:
    """The e-mail claim kept for display only (never matched on); dropped when the column cannot hold it."""
    if not isinstance(value, str) or len(value) > 254 or "\x00" in value:
        return ""
    return value


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
    # A user's memberships span organizations: they are how a bearer token finds its organization.
    memberships = (
        Membership.objects.unscoped().select_related("organization").filter(user=user, organization__is_active=True)
    )
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
