"""Build a tenant's provider from its settings and its key (passed explicitly, never from env)."""

from __future__ import annotations

import importlib

from agent.llm.base import EventSink, Provider, ignore_events
from agent.llm.clients import ClientCache
from agent.llm.retry import NO_RETRY, FallbackProvider, RetryPolicy
from agent.llm.types import ApiKey, CallSettings, ProviderSettings, UserMessage
from errors import UserError


def build_provider(
    settings: ProviderSettings,
    api_key: str | ApiKey | None,
    *,
    fallback_api_key: str | ApiKey | None = None,
    retry: RetryPolicy | None = None,
    events: EventSink = ignore_events,
    clients: ClientCache | None = None,
) -> Provider:
    """The provider for ``settings``, wrapped with its fallback when one is configured."""
    primary = _build_one(settings, api_key, retry=retry, events=events, clients=clients)
    if settings.fallback is None:
        return primary
    if clients is not None and clients.owner:  # the fallback's key is a key of its own
        clients = clients.for_owner(clients.owner + ":fallback")
    fallback = build_provider(
        settings.fallback, fallback_api_key, retry=retry, events=events, clients=clients
    )
    return FallbackProvider(primary, fallback, events=events)


def _build_one(
    settings: ProviderSettings,
    api_key: str | ApiKey | None,
    *,
    retry: RetryPolicy | None,
    events: EventSink,
    clients: ClientCache | None,
) -> Provider:
    if settings.provider == "extractive":
        from agent.llm.extractive import ExtractiveProvider

        return ExtractiveProvider(settings)
    if api_key is None or (isinstance(api_key, str) and not api_key.strip()):
        if settings.provider == "openai-compatible":
            api_key = "no-key"  # local servers (Ollama, vLLM) accept any key
        else:
            raise UserError(f"the {settings.provider} provider needs the tenant's API key")
    if settings.provider in ("openai", "openai-compatible"):
        from agent.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(settings, api_key, retry=retry, events=events, clients=clients)
    if settings.provider == "anthropic":
        from agent.llm.anthropic_provider import AnthropicProvider

        return AnthropicProvider(settings, api_key, retry=retry, events=events, clients=clients)
    from agent.llm.gemini_provider import GeminiProvider

    return GeminiProvider(settings, api_key, retry=retry, events=events, clients=clients)


async def check_key(settings: ProviderSettings, api_key: str | None) -> str:
    """One cheap call (a 1-token completion, no retry) to see whether the provider takes the key.

    Returns what answered (``openai gpt-4o-mini``); raises the :class:`ProviderError` otherwise.
    """
    provider = build_provider(settings.model_copy(update={"timeout_s": 15.0}), api_key, retry=NO_RETRY)
    try:
        await provider.complete([UserMessage(text="ping")], (), CallSettings(max_tokens=1))
    finally:
        await provider.aclose()
    return f"{settings.provider} {settings.model}"


PROVIDER_MODULES = ("agent.llm.openai_provider", "agent.llm.anthropic_provider", "agent.llm.gemini_provider")


def import_provider_sdks() -> None:
    """Import every provider's SDK now: each costs seconds of CPU, which the first turn of a
    fresh worker paid while the turns behind it waited on the import lock."""
    for name in PROVIDER_MODULES:
        importlib.import_module(name)
