"""Our one retry policy (SDK retries are off) and the per-tenant fallback provider."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from agent.llm.base import EventSink, Provider, ProviderEvent, ignore_events
from agent.llm.types import CallSettings, Completion, Embeddings, Message, ToolSpec
from errors import InvalidKeyError, ProviderError, RateLimitedError, TransientProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with Retry-After honoured, else jittered exponential backoff."""

    max_attempts: int = 3
    """Total attempts including the first."""
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 20.0
    """A longer Retry-After gives up at once (the worker reschedules with ``RetryLater``)."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None
            return max(0.0, error.retry_after)
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return self.rng.uniform(cap / 2, cap)  # "equal jitter"


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date) headers."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    provider: str,
    model: str,
    events: EventSink = ignore_events,
    key_fingerprint: str = "",
) -> tuple[T, int]:
    """Run ``call`` under ``policy``; returns the result and the attempts it took."""
    attempt = 1
    while True:
        try:
            return await call(), attempt
        except ProviderError as error:
            if isinstance(error, InvalidKeyError):
                events(
                    ProviderEvent(
                        "invalid_key",
                        provider,
                        model,
                        str(error),
                        error.status,
                        key_fingerprint=key_fingerprint,
                    )
                )
                raise
            delay = policy.delay(attempt, error)
            if delay is None:
                if error.retryable:
                    events(ProviderEvent("gave_up", provider, model, str(error), _status(error)))
                raise
            events(ProviderEvent("retry", provider, model, str(error), _status(error), delay_s=delay))
            await policy.sleep(delay)
            attempt += 1


def _status(error: ProviderError) -> int | None:
    return getattr(error, "status", None)


FALLBACK_ON: tuple[type[ProviderError], ...] = (
    RateLimitedError,
    TransientProviderError,
    InvalidKeyError,
)
"""Errors of the primary after which the fallback is tried (a bad request is not retried)."""


class FallbackProvider(Provider):
    """The primary provider, then the tenant's fallback when the primary still fails."""

    name = "fallback"

    def __init__(self, primary: Provider, fallback: Provider, *, events: EventSink = ignore_events) -> None:
        self.primary = primary
        self.fallback = fallback
        self.model = primary.model
        self.events = events

    @property
    def supports_embeddings(self) -> bool:  # type: ignore[override]
        return self.primary.supports_embeddings

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """Call the primary; on a retryable or key failure, the fallback."""
        try:
            return await self.primary.complete(messages, tools, settings)
        except FALLBACK_ON as error:
            self.events(
                ProviderEvent(
                    "fallback",
                    self.primary.name,
                    self.primary.model,
                    f"{type(error).__name__}; using {self.fallback.name}:{self.fallback.model}",
                    _status(error),
                )
            )
            result = await self.fallback.complete(messages, tools, settings)
            return result.model_copy(update={"attempts": result.attempts + 1})

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embeddings come from the primary only: vectors of two models do not mix."""
        return await self.primary.embed(texts)

    async def aclose(self) -> None:
        """Close both providers."""
        await self.primary.aclose()
        await self.fallback.aclose()
