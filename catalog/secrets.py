"""Secret references in connection configs, scoped to the owning organization, resolved only when a check executes.

A config key ending in `_secret` holds a reference, never a value, and only into the organization's own namespace:
- `env:DATAXPIPE_SECRET_<ORG>_<NAME>`: an environment variable of the catalog's process. <ORG> is the
  organization's slug upper-cased, every character other than A-Z and 0-9 written `_` (`org-a` -> `ORG_A`);
  <NAME> is one or more of A-Z, 0-9, `_`. Slugs can map to overlapping prefixes (`a` claims
  `DATAXPIPE_SECRET_A_...`, `a-b` claims `DATAXPIPE_SECRET_A_B_...`, and `a_b` the same as `a-b`): a name that
  the prefix of another existing organization also matches belongs to nobody and never resolves. So a
  variable can only ever be read by one organization; a new organization whose prefix claims an existing
  name makes that name stop resolving (a clear error), it never hands it over.
- `vault:MOUNT/PATH#FIELD`: FIELD of the Vault KV v2 secret PATH under MOUNT (any mount), read with VAULT_ADDR
  and VAULT_TOKEN. PATH must be `<prefix>/<org-slug>/<rest>` (prefix: DATAXPIPE_VAULT_PATH_PREFIX, default
  `dataxpipe`), every segment non-empty and none `.` or `..`.
The rule is checked when a config is stored (`reference_problem`) and again every time a reference is resolved
(`resolve_reference`), so a row stored before the rule existed (`env:DJANGO_SECRET_KEY`) never resolves.

`resolve_config` returns a plain dict for a connector: `password_secret: env:DATAXPIPE_SECRET_ORG_A_PG` becomes
`password: <value>`. The resolved dict lives only in the executing request's memory; every resolved value is
handed to `config.logging.remember_secret`, so no log line of that request can carry it, even in part.

A password typed into a postgres DSN is not a reference: the catalog moves it out of the stored
config and keeps it Fernet-encrypted under a key derived from SECRET_KEY (and SECRET_KEY_FALLBACKS,
so the key can be rotated), in `Connection.encrypted_dsn_password`, which nothing serializes.
"""

import base64
import os
import re

import hvac
import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Replace, Upper

from catalog import dsn as dsn_tools
from config.logging import remember_secret

SECRET_SUFFIX = "_secret"  # noqa: S105 (a key suffix, not a password)
ENV_PREFIX = "DATAXPIPE_SECRET_"
_ENV_REF = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_VAULT_REF = re.compile(r"vault:([A-Za-z0-9_\-]+)/([A-Za-z0-9_\-./]+)#([A-Za-z0-9_\-.]+)")
_ENV_NAME_REST = re.compile(r"[A-Z0-9_]+")
_ASCII_SLUG = re.compile(r"[A-Za-z0-9_\-]+")
VAULT_TIMEOUT_SECONDS = 5


class SecretResolutionError(Exception):
    """A reference that cannot be resolved now; the message never contains a secret."""


class SecretReferenceRefused(SecretResolutionError):
    """A reference outside the organization's namespace: a rule is broken, nothing is read."""


def is_secret_reference(value) -> bool:
    return isinstance(value, str) and bool(_ENV_REF.fullmatch(value) or _VAULT_REF.fullmatch(value))


def env_prefix(organization) -> str:
    """`DATAXPIPE_SECRET_<ORG>_` for the organization (slug upper-cased, non-alphanumerics as `_`)."""
    return f"{ENV_PREFIX}{_env_key(organization.slug)}_"


def _env_key(slug: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", slug.upper())


def vault_prefix(organization) -> str:
    """`<DATAXPIPE_VAULT_PATH_PREFIX>/<org-slug>/`: where an organization's Vault paths must lie."""
    base = "/".join(part for part in str(settings.DATAXPIPE_VAULT_PATH_PREFIX).split("/") if part)
    return f"{base}/{organization.slug}/" if base else f"{organization.slug}/"


def _env_claimed_by_another(name: str, organization) -> bool:
    """Whether the prefix of another existing organization also matches `name` (one query)."""
    from orgs.models import Organization

    rest = name[len(ENV_PREFIX) :]
    # Every `_` in the rest may end an organization's part: the keys an organization would need to claim it.
    candidates = {rest[:index] for index, char in enumerate(rest) if char == "_" and index}
    if not candidates:
        return False
    # Slugs are ASCII letters, digits, `-` and `_` (validate_slug): upper-casing and `-` -> `_` is the mapping.
    keyed = Organization.objects.annotate(env_key=Upper(Replace("slug", Value("-"), Value("_"))))
    return keyed.filter(env_key__in=candidates).exclude(pk=organization.pk).exists()


def _env_problem(name: str, organization) -> str | None:
    prefix = env_prefix(organization)
    rule = f"env: references of this organization must name {prefix}<NAME> (NAME: A-Z, 0-9, _)"
    if not _ASCII_SLUG.fullmatch(organization.slug):
        return "env: references are not available to this organization (its slug is not a plain slug); use vault:."
    if not name.startswith(prefix) or not _ENV_NAME_REST.fullmatch(name[len(prefix) :]):
        return f"{rule}; {name} is outside that namespace."
    if _env_claimed_by_another(name, organization):
        return (
            f"{rule}, and {name} also falls under another organization's prefix, so it cannot be told apart; "
            "choose a NAME whose first part is not followed by another organization's name, or use vault:."
        )
    return None


def _vault_problem(path: str, organization) -> str | None:
    prefix = vault_prefix(organization)
    rule = f"vault: references of this organization must read a path under {prefix} (vault:MOUNT/{prefix}...#FIELD)"
    segments = path.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return f"{rule}, without empty, '.' or '..' segments."
    if not path.startswith(prefix) or len(path) == len(prefix):
        return f"{rule}; {path} is outside it."
    return None


def reference_problem(value, organization) -> str | None:
    """Why `value` cannot be stored as a secret reference of `organization`, or None when it can."""
    if not is_secret_reference(value):
        return (
            f"must be a secret reference, env:{env_prefix(organization)}<NAME> or "
            f"vault:MOUNT/{vault_prefix(organization)}<PATH>#FIELD, never the secret itself."
        )
    env_match = _ENV_REF.fullmatch(value)
    if env_match:
        return _env_problem(env_match.group(1), organization)
    return _vault_problem(_VAULT_REF.fullmatch(value).group(2), organization)


def resolve_reference(reference: str, organization) -> str:
    """The value behind one of `organization`'s references. The scope rule is checked again here:
    a stored reference outside the organization's namespace raises SecretReferenceRefused, reads nothing."""
    problem = reference_problem(reference, organization)
    if problem:
        raise SecretReferenceRefused(problem)
    env_match = _ENV_REF.fullmatch(reference)
    if env_match:
        value = os.environ.get(env_match.group(1))
        if value is None:
            raise SecretResolutionError(f"The environment variable {env_match.group(1)} is not set.")
    else:
        value = _read_vault(*_VAULT_REF.fullmatch(reference).groups())
    remember_secret(value)
    return value


def _read_vault(mount: str, path: str, field: str) -> str:
    address, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
    if not address or not token:
        raise SecretResolutionError("VAULT_ADDR and VAULT_TOKEN must be set to resolve vault: references.")
    client = hvac.Client(url=address, token=token, timeout=VAULT_TIMEOUT_SECONDS)
    try:
        answer = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)
    except (hvac.exceptions.VaultError, requests.RequestException) as exc:
        raise SecretResolutionError(f"Vault could not provide {mount}/{path} ({exc.__class__.__name__}).") from exc
    data = answer.get("data", {}).get("data", {})
    if field not in data:
        raise SecretResolutionError(f"Vault secret {mount}/{path} has no field {field!r}.")
    return str(data[field])


def resolve_config(config: dict, organization) -> dict:
    resolved = {}
    for key, value in config.items():
        if key.endswith(SECRET_SUFFIX):
            resolved[key[: -len(SECRET_SUFFIX)]] = resolve_reference(value, organization)
        else:
            resolved[key] = value
    return resolved


def _fernet_for(secret_key: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dataxpipe-catalog", info=b"connection-dsn-password")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())))


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(key) for key in keys])


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        value = _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretResolutionError(
            "The stored DSN password cannot be decrypted (was SECRET_KEY changed without SECRET_KEY_FALLBACKS?); "
            "save the connection again."
        ) from exc
    remember_secret(value)
    return value


def resolve_connection_config(connection) -> dict:
    """The connector-ready config of a catalog Connection, secrets resolved. Call only when executing.

    `*_secret` references become plain keys; a postgres DSN gets its password back, either the
    encrypted one the catalog moved out of it or, when the DSN has none, a `password_secret`.
    """
    resolved = resolve_config(connection.config, connection.organization)
    dsn = resolved.get("dsn")
    if isinstance(dsn, str) and dsn_tools.is_url_dsn(dsn) and not dsn_tools.has_password(dsn):
        if connection.encrypted_dsn_password:
            resolved["dsn"] = dsn_tools.with_password(dsn, decrypt_secret(connection.encrypted_dsn_password))
        elif "password" in resolved:
            resolved["dsn"] = dsn_tools.with_password(dsn, resolved["password"])
    return resolved
