"""Which hosts a tenant's model provider may be reached at (``FRONTDESK_PROVIDER_HOSTS``).

A tenant admin names the provider's base URL through the API, so the URL must not reach the
worker's own network. The operator's allow-list (host names or ``host:port``) limits the hosts
when it is set; a listed host may be private (an in-house vLLM). Otherwise any host whose every
address is public is allowed; loopback, private, link-local, shared and reserved ranges are
refused. The host name is resolved and every address checked, when the URL is set and again at
call time in the worker (an old stored URL, or a name that now points elsewhere).

A check followed by a connection that resolves the name again leaves a DNS-rebinding window
(a name answering a public address to the check and a private one to the connection).
:class:`PinnedTransport` closes it: it resolves once, checks every address, and connects to
the checked address itself (the ``Host`` header and the TLS server name stay the URL's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
import httpx2

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


def checked_address(
    host: str, port: int, *, allow: Callable[[str], bool] = is_public, resolver: Resolver = resolve
) -> str:
    """The one address to connect to for ``host``: every address it resolves to must pass
    ``allow`` (:class:`HostRefused` otherwise, or when it does not resolve)."""
    try:
        addresses = [host] if _is_address(host) else list(resolver(host, port))
    except (OSError, UnicodeError):
        raise HostRefused(f"host {host} does not resolve") from None
    if not addresses:
        raise HostRefused(f"host {host} does not resolve")
    if not all(allow(a) for a in addresses):
        raise HostRefused(f"host {host} resolves to a loopback, private or reserved address")
    return addresses[0]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to the address ``pick(host, port)`` checked for it, never to a second
    resolution of the name; ``pick`` raises to refuse (the request is not sent)."""

    def __init__(self, pick: Callable[[str, int], str], inner: httpx.BaseTransport | None = None) -> None:
        self._pick = pick
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = self._pick(host, port)
        if address != host:
            request.url = request.url.copy_with(host=address)
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncPinnedTransport(httpx2.AsyncBaseTransport):
    """:class:`PinnedTransport` for the model SDKs' async clients (``httpx2``); the lookup runs
    in a thread so the turn's event loop is not blocked. A refusal is a ``ConnectError`` to the
    SDK (the provider could not be reached: the turn's fallback and handoff apply)."""

    def __init__(self, pick: Callable[[str, int], str], inner: httpx2.AsyncBaseTransport) -> None:
        self._pick = pick
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            address = await asyncio.to_thread(self._pick, host, port)
        except HostRefused as exc:
            raise httpx2.ConnectError(str(exc), request=request) from None
        if address != host:
            request.url = request.url.copy_with(host=address)
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


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

    def address_for(self, host: str, port: int) -> str:
        """Where a connection to ``host`` may go: the host itself when the operator listed it,
        else its one checked public address (:class:`HostRefused` otherwise)."""
        if self.listed(host, port):
            return host
        if self.allowed:
            raise HostRefused(
                f"provider host {host}:{port} is not in the operator's FRONTDESK_PROVIDER_HOSTS"
            )
        try:
            return checked_address(host, port, resolver=self.resolver)
        except HostRefused as exc:
            raise HostRefused(
                f"provider {exc}; the operator must list it in FRONTDESK_PROVIDER_HOSTS"
            ) from None

    def transport(self, inner: httpx2.AsyncBaseTransport) -> AsyncPinnedTransport:
        """An SDK transport that connects only where :meth:`address_for` allows, at connect time."""
        return AsyncPinnedTransport(self.address_for, inner)

    def check(self, url: str) -> None:
        """Raise :class:`HostRefused` unless the policy lets a provider call go to ``url``."""
        try:
            _scheme, host, port = endpoint_of(url)
        except UserError as exc:
            raise HostRefused(str(exc)) from None
        self.address_for(host, port)
