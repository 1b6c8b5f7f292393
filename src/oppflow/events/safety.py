"""Where webhooks may go: https only (unless allowed), and never to an internal address.

A subscription's host is checked when it is created (a literal address) and again on the
address it resolves to at each delivery, and the delivery then connects to that very address,
so a name that resolves elsewhere later (DNS rebinding) cannot reach an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from oppflow.config import get_settings
from oppflow.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeDestination(Exception):
    """A delivery refused before any connection: the host resolves to an internal address."""


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def allow_list(text: str | None = None) -> AllowList:
    """``OPPFLOW_WEBHOOK_ALLOWED_HOSTS`` (or ``text``): names, addresses and CIDRs."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    raw = get_settings().webhook_allowed_hosts if text is None else text
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item.lower().rstrip("."))
    return AllowList(frozenset(names), tuple(networks))


def is_internal(address: IPAddress) -> bool:
    """Loopback, link-local (cloud metadata), private, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_internal(address.ipv4_mapped)
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str) -> str:
    """Refuse (422) a URL a subscription may not have: not http(s), http when not allowed,
    no host, credentials in it, or a literal internal address that is not allowed."""
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if get_settings().webhook_allow_http else {"https"}
    if parts.scheme not in allowed_schemes:
        raise ValidationFailed(
            "A webhook URL must use https.",
            field="url",
        )
    if not parts.hostname or parts.username or parts.password:
        raise ValidationFailed("A webhook URL needs a host and no credentials.", field="url")
    literal = _literal(parts.hostname)
    allowed = allow_list()
    if literal is not None and is_internal(literal) and not allowed.allows_address(literal):
        raise ValidationFailed(
            "A webhook URL may not name a private address.",
            field="url",
        )
    return url


def resolve(host: str, port: int) -> IPAddress:
    """The address to connect to for ``host``, resolved now; refused (UnsafeDestination) when
    any address it resolves to is internal and neither the name nor the address is allowed."""
    allowed = allow_list()
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeDestination(f"{host} does not resolve") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    if not allowed.allows_name(host):
        refused = [a for a in addresses if is_internal(a) and not allowed.allows_address(a)]
        if refused:
            raise UnsafeDestination(f"{host} resolves to an internal address ({refused[0]})")
    return addresses[0]
