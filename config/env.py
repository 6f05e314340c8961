"""Typed readers for settings that come from the environment.

A required variable that is missing stops start-up with a message naming it, so a
misconfigured deployment fails at boot rather than on the first request.
"""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from exc


def env_list(name: str, default: list[str], *, separator: str = ",") -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(separator) if item.strip()]


def parse_networks(name: str, cidrs) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of an allow-list setting `name`; a value that is not a CIDR names the setting."""
    networks = []
    for cidr in cidrs or []:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {cidr!r} is not a CIDR.") from None
    return networks


def env_networks(name: str) -> list[str]:
    """Comma-separated CIDRs (empty by default), checked now so a typo stops start-up, not the first request."""
    cidrs = env_list(name, [])
    parse_networks(name, cidrs)
    return cidrs


def env_days_or_unlimited(name: str, default: int | None) -> int | None:
    """A number of days where 0 or an empty value means no limit (None); unset keeps `default`."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip() in ("", "0"):
        return None
    try:
        days = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number of days (0 or empty: unlimited), not {raw!r}.") from exc
    if days < 0:
        raise ImproperlyConfigured(f"{name} must not be negative (0 or empty: unlimited), not {raw!r}.")
    return days
