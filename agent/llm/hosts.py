"""Which hosts a tenant's model provider may be reached at (``FRONTDESK_PROVIDER_HOSTS``).

A tenant admin names the provider's base URL through the API, so the URL must not reach the
worker's own network. The operator's allow-list (host names or ``host:port``) limits the hosts
when it is set; a listed host may be private (an in-house vLLM). Otherwise any host whose every
address is public is allowed; loopback, private, link-local, shared and reserved ranges are
refused. The host name is resolved and every address checked, when the URL is set and again at
call time in the worker (an old stored URL, or a name that now points elsewhere).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from errors import UserError
from store.repo.providers import endpoint_of

Resolver = Callable[[str, int], Sequence[str]]


class HostRefused(UserError):
    """A provider URL whose host the operator's policy does not allow."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse_hosts(spec: str | None) -> tuple[str, ...]:
    """The allow-list from its comma-separated form (``api.openai.com,vllm.lan:8000``)."""
    return tuple(h.strip().lower().rstrip(".") for h in (spec or "").split(",") if h.strip())


@dataclass(frozen=True)
class HostPolicy:
    """The operator's allow-list; empty allows any host whose addresses are all public."""

    allowed: tuple[str, ...] = ()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def from_spec(cls, spec: str | None, resolver: Resolver = resolve) -> HostPolicy:
        return cls(parse_hosts(spec), resolver)

    def listed(self, host: str, port: int) -> bool:
        return host in self.allowed or f"{host}:{port}" in self.allowed

    def check(self, url: str) -> None:
        """Raise :class:`HostRefused` unless the policy lets a provider call go to ``url``."""
        try:
            _scheme, host, port = endpoint_of(url)
        except UserError as exc:
            raise HostRefused(str(exc)) from None
        if self.listed(host, port):
            return
        if self.allowed:
            raise HostRefused(
                f"provider host {host}:{port} is not in the operator's FRONTDESK_PROVIDER_HOSTS"
            )
        try:
            addresses = list(self.resolver(host, port))
        except (OSError, UnicodeError):
            raise HostRefused(f"provider host {host} does not resolve") from None
        if not addresses:
            raise HostRefused(f"provider host {host} does not resolve")
        if not all(is_public(a) for a in addresses):
            raise HostRefused(
                f"provider host {host} resolves to a loopback, private or reserved address; "
                "the operator must list it in FRONTDESK_PROVIDER_HOSTS"
            )
