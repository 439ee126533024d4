"""What every vendor adapter shares: the tenant's key, the retry policy, the client cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from agent.llm.base import EventSink, Provider, ignore_events
from agent.llm.clients import DEFAULT_CLIENTS, ClientCache, tls_context
from agent.llm.hosts import HostPolicy
from agent.llm.pricing import cost_usd
from agent.llm.retry import RetryPolicy, with_retries
from agent.llm.types import ApiKey, Completion, ProviderSettings, StopReason, ToolCall, Usage

T = TypeVar("T")


class KeyedProvider(Provider):
    """A vendor adapter holding one tenant's key (it prints as ``***``)."""

    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        settings: ProviderSettings,
        api_key: str | ApiKey,
        *,
        retry: RetryPolicy | None = None,
        events: EventSink = ignore_events,
        clients: ClientCache | None = None,
    ) -> None:
        self.settings = settings
        self.model = settings.model
        self._key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
        self.retry = retry or RetryPolicy()
        self.events = events
        self._clients = clients if clients is not None else DEFAULT_CLIENTS
        self.base_url = settings.base_url or self.default_base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}, key={self._key!r})"

    def _vendor_key(self, vendor: str) -> str:
        """The client cache's vendor name: a pinned client is shared only with one pinned alike."""
        hosts = self.settings.pinned_hosts
        return vendor if hosts is None else f"{vendor}+pinned:{','.join(hosts)}"

    def _transport(self) -> dict[str, Any]:
        """``{"transport": …}`` for the SDK's async HTTP client when the tenant chose the base URL:
        connections go only to an address checked at connect time (DNS rebinding). Else nothing."""
        if self.settings.pinned_hosts is None:
            return {}
        import httpx2

        inner = httpx2.AsyncHTTPTransport(verify=tls_context())
        return {"transport": HostPolicy(self.settings.pinned_hosts).transport(inner)}

    async def _retrying(self, call: Callable[[], Awaitable[T]], model: str | None = None) -> tuple[T, int]:
        """``call`` under the retry policy; the result and the attempts it took."""
        return await with_retries(
            call,
            self.retry,
            provider=self.name,
            model=model or self.model,
            events=self.events,
            key_fingerprint=self._key.fingerprint,
        )

    def _completion(
        self,
        *,
        text: str,
        tool_calls: list[ToolCall],
        stop_reason: StopReason,
        usage: Usage,
        model: str | None,
        attempts: int,
    ) -> Completion:
        """The provider-neutral result, priced with the tenant's price table."""
        return Completion(
            text=text,
            tool_calls=tool_calls,
            stop_reason=stop_reason,
            usage=usage,
            cost_usd=cost_usd(self.model, usage, self.settings.prices),
            model=model or self.model,
            provider=self.name,
            attempts=attempts,
        )
