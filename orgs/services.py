"""Writes for organizations, memberships and API keys: shared by the API, admin and commands."""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs import keys
from orgs.limits import enforce_limit
from orgs.models import ApiKey, Membership, OIDCIdentity, Organization, Plan, Role
from orgs.selectors import live_api_keys

logger = logging.getLogger(__name__)


@transaction.atomic
def create_organization(*, slug: str, name: str = "", plan: str = Plan.FREE) -> Organization:
    organization = Organization(slug=slug, name=name or slug, plan=plan)
    organization.full_clean()
    organization.save()
    logger.info("organization created: %s (plan %s)", organization.slug, organization.plan)
    return organization


def get_or_create_scaffold_organization() -> Organization:
    slug = settings.DATAXPIPE_SCAFFOLD_ORG_SLUG
    try:
        organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": "Local development"})
    except IntegrityError:
        organization = Organization.objects.get(slug=slug)
    return organization


def create_api_key(
    *, organization: Organization, name: str, role: str = Role.WRITE, created_by=None, expires_at=None
) -> tuple[ApiKey, str]:
    """Creates a key and returns it with the full key string, which exists nowhere else afterwards."""
    with transaction.atomic():
        enforce_limit(organization, "api_keys", live_api_keys(organization))
        for _ in range(5):
            full_key, prefix = keys.generate_key()
            # The prefix finds the key before its organization is known: unique across every organization.
            if not ApiKey.objects.unscoped().filter(prefix=prefix).exists():
                break
        api_key = ApiKey(
            organization=organization,
            name=name,
            role=role,
            prefix=prefix,
            digest=keys.digest_secret(full_key[len(keys.KEY_MARKER) + keys.PREFIX_LENGTH :]),
            created_by=created_by,
            expires_at=expires_at,
        )
        # The prefix's uniqueness (across organizations) was checked above; the unique index has the last word.
        api_key.full_clean(validate_unique=False)
        api_key.save()
    logger.info("api key created: %s for %s (role %s)", api_key.masked, organization.slug, role)
    return api_key, full_key


def revoke_api_keys(queryset) -> int:
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    logger.info("api keys revoked: %d", count)
    return count


@transaction.atomic
def add_member(*, organization: Organization, user, role: str = Role.READ) -> Membership:
    membership, _created = Membership.objects.for_organization(organization).update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    return membership


def link_oidc_identity(*, user, issuer: str, subject: str) -> OIDCIdentity:
    """Staff's manual link of a provider account to an existing user (the admin and tests use it).

    Refuses (IntegrityError) a pair already linked to someone: moving an identity between users
    is a deliberate delete-then-link, never a side effect.
    """
    identity = OIDCIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    logger.info("oidc identity linked: user %s", user.pk)
    return identity


def create_oidc_user(*, issuer: str, subject: str, email: str = ""):
    """A new user for a provider account seen for the first time, linked to it.

    The username derives from (issuer, subject), not the e-mail, so two accounts sharing an e-mail
    never collide. Two first requests racing: the loser's insert fails on the unique pair and it
    takes the winner's user.
    """
    digest = hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()[:32]
    user_model = get_user_model()
    try:
        with transaction.atomic():
            # No password: the account signs in through the provider only (create_user makes it unusable).
            user = user_model.objects.create_user(username=f"oidc-{digest}", email=email)
            OIDCIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        return OIDCIdentity.objects.select_related("user").get(issuer=issuer, subject=subject).user
    logger.info("oidc user created: user %s", user.pk)
    return user
