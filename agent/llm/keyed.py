"""What every vendor adapter shares: the tenant's key, the retry policy, the client cache."""

from __future__ import annotations

from typing import ClassVar

from agent.llm.base import EventSink, Provider, ignore_events
from agent.llm.clients import DEFAULT_CLIENTS, ClientCache
from agent.llm.retry import RetryPolicy
from agent.llm.types import ApiKey, ProviderSettings


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
