"""A bounded cache of authenticated SDK clients per tenant key, and shared error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agent.errors import (
    BadRequestError,
    InvalidKeyError,
    ProviderHTTPError,
    RateLimitedError,
    TransientProviderError,
    scrub,
)
from agent.llm.retry import parse_retry_after
from agent.llm.types import ApiKey

CacheKey = tuple[str, str, str, float, int]


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


class ClientCache:
    """LRU of SDK clients keyed by (vendor, base URL, key fingerprint, timeout, event loop).

    A client is bound to the event loop it was made in, so the loop is part of the key.
    Evicted clients are closed in the background.
    """

    def __init__(self, maxsize: int = 128) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[CacheKey, tuple[weakref.ref[asyncio.AbstractEventLoop], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    def get(
        self,
        vendor: str,
        base_url: str,
        key: ApiKey,
        timeout_s: float,
        build: Callable[[], Any],
        close: Callable[[Any], Awaitable[None]],
    ) -> Any:
        """The cached client for this tenant key, built on first use."""
        loop = asyncio.get_running_loop()
        cache_key: CacheKey = (vendor, base_url, key.fingerprint, timeout_s, id(loop))
        with self._lock:
            entry = self._items.get(cache_key)
            if entry is not None and entry[0]() is loop:  # ids of dead loops get reused
                self._items.move_to_end(cache_key)
                return entry[1]
            client = build()
            self._items[cache_key] = (weakref.ref(loop), client)
            evicted: list[Any] = []
            while len(self._items) > self.maxsize:
                old_loop, old = self._items.popitem(last=False)[1]
                if old_loop() is loop:
                    evicted.append(old)
        for old in evicted:
            task = loop.create_task(_quiet(close(old)))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return client

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget every client (they are closed by garbage collection)."""
        with self._lock:
            self._items.clear()


async def _quiet(aw: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):
        await aw


DEFAULT_CLIENTS = ClientCache()
"""The process-wide client cache used unless one is injected."""


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
