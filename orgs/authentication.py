"""API key authentication.

Each class answers only for credentials of its own kind and returns None otherwise, so the
next class in DEFAULT_AUTHENTICATION_CLASSES can try (dxp_ keys here, scaffold keys next, JWTs
last). Every failure says the same thing, whatever went wrong.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from orgs import keys
from orgs.models import ApiKey
from orgs.principal import ApiKeyActor, Principal

INVALID_KEY_MESSAGE = "Invalid API key."
SCAFFOLD_KEY_ROLES = {"platform-key": "write", "admin-key": "admin", "dev-key": "write"}
REALM = 'Bearer realm="dataxpipe"'


def presented_credential(request) -> str | None:
    """The raw credential from X-API-KEY, or from Authorization: Bearer."""
    header_key = request.META.get("HTTP_X_API_KEY")
    if header_key:
        return header_key.strip()
    parts = authentication.get_authorization_header(request).split()
    if len(parts) == 2 and parts[0].lower() == b"bearer":
        try:
            return parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = presented_credential(request)
        if raw is None:
            return None
        from_header = bool(request.META.get("HTTP_X_API_KEY"))
        if not keys.looks_like_api_key(raw):
            if raw in SCAFFOLD_KEY_ROLES or not from_header:
                return None  # a scaffold key or a JWT: another class decides
            keys.secret_matches("x" * keys.SECRET_LENGTH, None)
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        return self._authenticate_key(raw)

    def _authenticate_key(self, raw: str):
        parsed = keys.parse_key(raw)
        if parsed is None:
            keys.secret_matches("x" * keys.SECRET_LENGTH, None)
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        # Nobody is known yet: the key's public prefix, unique across organizations, says whose key it is.
        api_key = ApiKey.objects.unscoped().select_related("organization").filter(prefix=parsed.prefix).first()
        verification = keys.verify_secret(parsed.secret, api_key.digest if api_key else None)
        if not verification.matches or api_key.state != "active" or not api_key.organization.is_active:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        _record_use(api_key, verification.new_digest)
        principal = Principal(organization=api_key.organization, role=api_key.role, api_key=api_key)
        return ApiKeyActor(api_key.masked), principal

    def authenticate_header(self, request):
        return REALM


def _record_use(api_key: ApiKey, new_digest: str | None) -> None:
    """At most one UPDATE: `last_used_at` once a minute (a busy DAG must not turn every read into a write),
    and the digest moved to the current pepper when the key matched only under a fallback."""
    changes = {}
    now = timezone.now()
    interval = timedelta(seconds=settings.DATAXPIPE_KEY_LAST_USED_INTERVAL_SECONDS)
    if api_key.last_used_at is None or now - api_key.last_used_at >= interval:
        changes["last_used_at"] = now
    if new_digest is not None:
        changes["digest"] = new_digest
    if changes:
        ApiKey.objects.for_organization(api_key.organization_id).filter(pk=api_key.pk).update(**changes)
        for field, value in changes.items():
            setattr(api_key, field, value)


class ScaffoldKeyAuthentication(authentication.BaseAuthentication):
    """platform-key, admin-key and dev-key: local development only (DATAXPIPE_ALLOW_SCAFFOLD_KEYS)."""

    def authenticate(self, request):
        raw = presented_credential(request)
        if raw not in SCAFFOLD_KEY_ROLES:
            return None
        if not settings.DATAXPIPE_ALLOW_SCAFFOLD_KEYS:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        from orgs.services import get_or_create_scaffold_organization

        organization = get_or_create_scaffold_organization()
        principal = Principal(organization=organization, role=SCAFFOLD_KEY_ROLES[raw], scaffold_key_name=raw)
        return ApiKeyActor(raw), principal

    def authenticate_header(self, request):
        return REALM
