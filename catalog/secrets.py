"""Secret references in connection configs, resolved only when a check executes.

A config key ending in `_secret` holds a reference, never a value:
- `env:NAME`: the environment variable NAME of the catalog's process;
- `vault:MOUNT/PATH#FIELD`: FIELD of the HashiCorp Vault KV v2 secret PATH under MOUNT,
  read with VAULT_ADDR and VAULT_TOKEN from the environment.
`resolve_config` returns a plain dict for a connector: `password_secret: env:PG_PW` becomes
`password: <value>`. The resolved dict lives only in the executing request's memory.

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

from catalog import dsn as dsn_tools

SECRET_SUFFIX = "_secret"  # noqa: S105 (a key suffix, not a password)
_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_VAULT_REF = re.compile(r"^vault:([A-Za-z0-9_\-]+)/([A-Za-z0-9_\-./]+)#([A-Za-z0-9_\-.]+)$")
VAULT_TIMEOUT_SECONDS = 5


class SecretResolutionError(Exception):
    """A reference that cannot be resolved now; the message never contains a secret."""


def is_secret_reference(value) -> bool:
    return isinstance(value, str) and bool(_ENV_REF.match(value) or _VAULT_REF.match(value))


def reference_problem(value, organization) -> str | None:
    """Why `value` cannot be stored as a secret reference of `organization`, or None when it can."""
    if not is_secret_reference(value):
        return "must be a secret reference, env:NAME or vault:MOUNT/PATH#FIELD, never the secret itself."
    return None


def resolve_reference(reference: str) -> str:
    env_match = _ENV_REF.match(reference)
    if env_match:
        value = os.environ.get(env_match.group(1))
        if value is None:
            raise SecretResolutionError(f"The environment variable {env_match.group(1)} is not set.")
        return value
    vault_match = _VAULT_REF.match(reference)
    if vault_match:
        return _read_vault(*vault_match.groups())
    raise SecretResolutionError("Not a secret reference (expected env:NAME or vault:MOUNT/PATH#FIELD).")


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


def resolve_config(config: dict) -> dict:
    resolved = {}
    for key, value in config.items():
        if key.endswith(SECRET_SUFFIX):
            resolved[key[: -len(SECRET_SUFFIX)]] = resolve_reference(value)
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
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretResolutionError(
            "The stored DSN password cannot be decrypted (was SECRET_KEY changed without SECRET_KEY_FALLBACKS?); "
            "save the connection again."
        ) from exc


def resolve_connection_config(connection) -> dict:
    """The connector-ready config of a catalog Connection, secrets resolved. Call only when executing.

    `*_secret` references become plain keys; a postgres DSN gets its password back, either the
    encrypted one the catalog moved out of it or, when the DSN has none, a `password_secret`.
    """
    resolved = resolve_config(connection.config)
    dsn = resolved.get("dsn")
    if isinstance(dsn, str) and dsn_tools.is_url_dsn(dsn) and not dsn_tools.has_password(dsn):
        if connection.encrypted_dsn_password:
            resolved["dsn"] = dsn_tools.with_password(dsn, decrypt_secret(connection.encrypted_dsn_password))
        elif "password" in resolved:
            resolved["dsn"] = dsn_tools.with_password(dsn, resolved["password"])
    return resolved
