"""A bounded cache of authenticated SDK clients per event loop and tenant key, and shared error
mapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.llm.retry import parse_retry_after
from agent.llm.types import ApiKey
from errors import (
    BadRequestError,
    InvalidKeyError,
    ProviderHTTPError,
    RateLimitedError,
    TransientProviderError,
)

CacheKey = tuple[str, str, str, str, float]
"""(vendor, base URL, owner, key fingerprint, timeout)"""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The SDKs' own default TLS context, built once per process and shared by every client.

    A client is bound to its event loop and a worker runs each turn in a loop of its own, so
    every turn builds its SDK clients; building the TLS context (loading the CA bundle) was
    about 20 ms of CPU, the largest part of a turn's own cost. An ``SSLContext`` is safe to
    share between threads.
    """
    import httpx2

    return httpx2.create_ssl_context()


@dataclass
class _Loop:
    """One event loop's clients, least recently used first."""

    clients: OrderedDict[CacheKey, Any] = field(default_factory=OrderedDict[CacheKey, Any])
    closers: dict[CacheKey, Callable[[Any], Awaitable[None]]] = field(
        default_factory=dict[CacheKey, Callable[[Any], Awaitable[None]]]
    )


@dataclass
class _Shared:
    loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = field(
        default_factory=weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop]
    )
    current: dict[tuple[str, str, str], str] = field(default_factory=dict[tuple[str, str, str], str])
    """(owner, vendor, base URL) → the fingerprint of the owner's current key."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: set[asyncio.Task[None]] = field(default_factory=set[asyncio.Task[None]])


class ClientCache:
    """SDK clients per event loop, keyed by (vendor, base URL, owner, key fingerprint, timeout).

    A client is bound to the event loop it was made in, so each loop (a worker thread's
    long-lived one, :mod:`agent.loops`) has its own LRU of ``maxsize`` clients; evicted ones
    are closed on their loop. ``for_owner`` gives the view a tenant's providers use: when
    the tenant's key changes, its clients made with the old key are closed (on each loop,
    at that loop's next use of the cache) and never used again.
    """

    def __init__(self, maxsize: int = 16, *, owner: str = "", shared: _Shared | None = None) -> None:
        self.maxsize = maxsize
        self.owner = owner
        self._shared = shared or _Shared()

    def for_owner(self, owner: str) -> ClientCache:
        """This cache as seen by one owner (a tenant), whose key changes close its old clients."""
        return ClientCache(self.maxsize, owner=owner, shared=self._shared)

    def get(
        self,
        vendor: str,
        base_url: str,
        key: ApiKey,
        timeout_s: float,
        build: Callable[[], Any],
        close: Callable[[Any], Awaitable[None]],
    ) -> Any:
        """The cached client for this key on the running loop, built on first use."""
        loop = asyncio.get_running_loop()
        cache_key: CacheKey = (vendor, base_url, self.owner, key.fingerprint, timeout_s)
        shared, stale = self._shared, []
        with shared.lock:
            mine = shared.loops.get(loop)
            if mine is None:
                mine = shared.loops[loop] = _Loop()
            if self.owner:
                current = (self.owner, vendor, base_url)
                if shared.current.get(current) != key.fingerprint:
                    shared.current[current] = key.fingerprint
            client = mine.clients.get(cache_key)
            if client is not None:
                mine.clients.move_to_end(cache_key)
            else:
                client = build()
                mine.clients[cache_key] = client
                mine.closers[cache_key] = close
            stale = [
                k
                for k in mine.clients
                if k[2] and shared.current.get((k[2], k[0], k[1]), k[3]) != k[3]  # the owner's old key
            ]
            stale += list(mine.clients)[: max(0, len(mine.clients) - len(stale) - self.maxsize)]
            evicted = [(mine.clients.pop(k), mine.closers.pop(k)) for k in dict.fromkeys(stale)]
        for old, closer in evicted:
            task = loop.create_task(_quiet(closer(old)))
            shared.closing.add(task)
            task.add_done_callback(shared.closing.discard)
        return client

    def __len__(self) -> int:
        with self._shared.lock:
            return sum(len(loop.clients) for loop in self._shared.loops.values())

    def clear(self) -> None:
        """Forget every client (they are closed by garbage collection)."""
        with self._shared.lock:
            self._shared.loops.clear()
            self._shared.current.clear()


async def _quiet(aw: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):
        await aw


DEFAULT_CLIENTS = ClientCache()
"""The process-wide client cache used unless one is injected (16 clients per event loop)."""


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of each secret (and its 12-char tail/head) masked."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "[redacted]")
        if len(secret) >= 16:
            text = text.replace(secret[-12:], "[redacted]").replace(secret[:12], "[redacted]")
    return text


INVALID_KEY_MARKERS = ("api_key_invalid", "api key not valid", "invalid api key", "invalid x-api-key")


def map_http_error(
    provider: str,
    status: int,
    message: str,
    headers: Mapping[str, str] | None,
    key: ApiKey,
) -> ProviderHTTPError:
    """The error for an HTTP status from a vendor, with the key scrubbed from the message."""
    message = scrub(message, key.reveal())[:300]
    lowered = message.lower()
    if status in (401, 403) or (status == 400 and any(m in lowered for m in INVALID_KEY_MARKERS)):
        return InvalidKeyError(f"{provider}: API key refused ({status})", provider=provider, status=status)
    if status == 429:
        retry_after = parse_retry_after(headers)
        return RateLimitedError(
            f"{provider}: rate limited (429): {message}",
            provider=provider,
            retry_after=retry_after,
        )
    if status in (408, 409) or status >= 500:
        return TransientProviderError(
            f"{provider}: server error ({status}): {message}", provider=provider, status=status
        )
    return BadRequestError(f"{provider}: bad request ({status}): {message}", provider=provider, status=status)


def timeout_error(provider: str) -> TransientProviderError:
    """The error for a call that timed out."""
    return TransientProviderError(f"{provider}: request timed out", provider=provider, status=None)


def connection_error(provider: str) -> TransientProviderError:
    """The error for a call that could not connect."""
    return TransientProviderError(f"{provider}: connection failed", provider=provider, status=None)
