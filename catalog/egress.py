"""Where a warehouse connection may open a socket: the network egress policy.

Every organization admin may be hostile, so a host a tenant registers is resolved and each of its
addresses judged: only public (globally routable) addresses pass, unless the operator opens a
network in the allow-list of that kind of destination (`AllowList`: `DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS`
for warehouses; alert destinations bring their own). Unspecified and multicast addresses never pass;
the catalog's own database (same server, same database name) never passes, whatever
the allow-list says. Connectors connect to the address checked here (libpq `hostaddr`), so a DNS
answer that changes after the check (rebinding) cannot redirect the socket.

The policy is applied at registration (catalog.connection_config) and again before every execution
(checks.connectors), because stored rows may predate the rules or the allow-list may have shrunk.
"""

import contextlib
import ipaddress
import socket
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from config.env import parse_networks

# At most this many of a name's addresses are handed to libpq (each gets its own connect timeout).
MAX_ADDRESSES = 3
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(ipaddress.ip_network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class EgressRefused(Exception):
    """The destination breaks the egress policy; the message names the rule and is safe to show."""


class Unresolvable(Exception):
    """The host name has no address now (it may have one later)."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Destination:
    host: str
    port: int
    addresses: tuple[str, ...]


def host_problem(host) -> str | None:
    """Why `host` cannot name a TCP warehouse at all (before any resolution), or None."""
    if not isinstance(host, str) or not host.strip():
        return "is required: an empty host means the local unix socket, which is refused."
    if host.startswith(("/", "@")):
        return "names a unix socket (a host starting with / or @); only TCP hosts are allowed."
    if "," in host:
        return "names several hosts; give exactly one host."
    if any(char.isspace() or char in "\x00[]" for char in host) or len(host) > 253:
        return "is not a valid host name or address."
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), judged in its place."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_rule(address: IPAddress) -> str | None:
    """The name of the non-public range `address` lies in, or None for a public address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = address_rule(embedded)
        return f"an IPv4-in-IPv6 address whose IPv4 part is {inner}" if inner else None
    if address.is_unspecified:
        return "the unspecified address (0.0.0.0, ::)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services live)"
    if address.version == 4 and address in _CGNAT:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in _PRIVATE if network.version == address.version):
        return "a private-network address (RFC 1918 / unique-local)"
    if address.version == 6 and address.teredo is not None:
        return "a Teredo tunnel address"
    if address.is_reserved or not address.is_global:
        return "a reserved or special-purpose address (documentation, benchmarking, ...)"
    return None


@dataclass(frozen=True)
class AllowList:
    """The operator's networks for one kind of destination, named by its setting. Each kind has its own list:
    a network opened so that tenants reach their warehouses there must not open its other services too."""

    setting: str
    subject: str  # what must be public, for the refusal message: "warehouses", "alert destinations"

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        # Read at every call, not cached: a network removed from the list refuses its stored destinations.
        return parse_networks(self.setting, getattr(settings, self.setting, []))

    @property
    def hint(self) -> str:
        return f"{self.subject} must be on public addresses unless the operator allows the network ({self.setting})"


WAREHOUSES = AllowList("DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS", "warehouses")


def in_allowed_networks(address: IPAddress, networks) -> bool:
    """True when `address` (or the IPv4 address it carries) lies in one of the operator's `networks`."""
    candidates = [address]
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        candidates.append(embedded)
    return any(
        candidate in network for candidate in candidates for network in networks if candidate.version == network.version
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise Unresolvable(host) from exc
    seen: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise Unresolvable(host)
    return seen


def _local_addresses() -> set[IPAddress]:
    """This machine's own addresses: a server listening on all interfaces is reachable through any of them."""
    found: set[IPAddress] = set()
    with contextlib.suppress(Unresolvable):
        found.update(_resolve(socket.gethostname(), 0))
    return found


def _catalog_database() -> tuple[bool, set[IPAddress], int, set[str]] | None:
    """(on this machine, its addresses, its port, its database names) of the catalog's PostgreSQL, or None."""
    database = connections["default"].settings_dict
    if "postgresql" not in str(database.get("ENGINE", "")):
        return None
    host = str(database.get("HOST") or "")
    port = int(database.get("PORT") or 5432)
    configured = settings.DATABASES.get("default", {})
    names = {
        str(name)
        for name in (database.get("NAME"), configured.get("NAME"), (database.get("TEST") or {}).get("NAME"))
        if name
    }
    local = not host or host.startswith("/")
    addresses: set[IPAddress] = set()
    if not local:
        try:
            addresses = set(_resolve(host, port))
        except Unresolvable:
            addresses = set()
        local = any(address.is_loopback for address in addresses)
    return local, addresses, port, names


def is_catalog_database(addresses: list[IPAddress], port: int, dbname: str | None) -> bool:
    """True when (addresses, port, dbname) reach the catalog's own database. Any loopback address counts as
    the same server when the catalog's database is on loopback or a unix socket."""
    catalog = _catalog_database()
    if catalog is None or dbname is None:
        return False
    names = catalog[3]
    if dbname.casefold() not in {name.casefold() for name in names}:
        return False
    return reaches_catalog_database_server(addresses, port)


def check_destination(host: str, port: int, dbname: str | None, allow_list: AllowList = WAREHOUSES) -> Destination:
    """The addresses a connector may connect to for (host, port, dbname), all judged against `allow_list`;
    raises EgressRefused naming the rule, or Unresolvable when the name has no address now. `dbname` None:
    not known yet."""
    problem = host_problem(host)
    if problem:
        raise EgressRefused(f"host {problem}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
        raise EgressRefused("port must be a port number (1-65535).")
    addresses = _resolve(host, port)
    literal = _is_literal(host)
    shown = f"host {host!r}" if literal else f"host {host!r} resolves to an address that"
    networks = allow_list.networks()
    for address in addresses:
        rule = address_rule(address)
        judged = _embedded_ipv4(address) or address
        never = judged.is_unspecified or judged.is_multicast
        if rule and (never or not in_allowed_networks(address, networks)):
            raise EgressRefused(f"{shown} is {rule}; {'never allowed' if never else allow_list.hint}.")
    if is_catalog_database(addresses, port, dbname):
        raise EgressRefused("the connection reaches the catalog's own database, which checks can never query.")
    return Destination(host=host, port=port, addresses=tuple(str(address) for address in addresses[:MAX_ADDRESSES]))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def reaches_catalog_database_server(addresses: list[IPAddress], port: int) -> bool:
    """True when a TCP connection to (addresses, port) would reach the catalog's own PostgreSQL server, whatever
    protocol is spoken (an alert webhook): same port, and one of its addresses (any loopback or own address
    when the catalog's database is local). Refused whatever the allow-list says."""
    catalog = _catalog_database()
    if catalog is None:
        return False
    local, catalog_addresses, catalog_port, _names = catalog
    if port != catalog_port:
        return False
    if any(address in catalog_addresses for address in addresses):
        return True
    if local:
        own = _local_addresses()
        return any(address.is_loopback or address in own for address in addresses)
    return False
