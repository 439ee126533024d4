"""Each adapter through its real SDK against the wire simulator."""

from __future__ import annotations

import asyncio
import json
import pickle
import random

import pytest

from agent.llm.base import ProviderEvent
from agent.llm.clients import ClientCache
from agent.llm.factory import build_provider
from agent.llm.simulator import Simulator
from agent.llm.testing import fast_retry, sim_settings
from agent.llm.types import (
    ApiKey,
    CallSettings,
    ContextMessage,
    ContextPassage,
    Price,
    ProviderName,
    ProviderSettings,
    SystemMessage,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from errors import BadRequestError, InvalidKeyError, RateLimitedError, TransientProviderError, UserError

VENDORS: list[ProviderName] = ["openai", "anthropic", "gemini", "openai-compatible"]
SIM_VENDOR = {"openai": "openai", "openai-compatible": "openai", "anthropic": "anthropic", "gemini": "gemini"}
TOOLS = [
    ToolSpec(
        name="search_knowledge",
        description="Search the business's knowledge base.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    ToolSpec(name="business_hours", description="Opening hours."),
]
KEY = "sk-test-tenant-a-0123456789abcdef"


@pytest.mark.parametrize("vendor", VENDORS)
async def test_plain_reply_with_usage_and_cost(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName
) -> None:
    simulator.add_rule(r"\bprice\b", "A haircut costs 20 euros.")
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    result = await provider.complete(
        [SystemMessage(text="You are a receptionist."), UserMessage(text="What is the price of a haircut?")]
    )
    assert result.text == "A haircut costs 20 euros."
    assert result.stop_reason == "end_turn"
    assert result.tool_calls == []
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.provider == vendor
    if vendor == "openai-compatible":
        assert result.cost_usd is None  # no price known for a local model
    else:
        assert result.cost_usd is not None and result.cost_usd > 0
    [request] = simulator.requests
    assert request.vendor == SIM_VENDOR[vendor]
    assert request.api_key == KEY
    assert "You are a receptionist." in request.body_text
    assert KEY not in json.dumps(request.headers)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_tool_call_round_trip(simulator: Simulator, clients: ClientCache, vendor: ProviderName) -> None:
    simulator.add_rule(
        "refund",
        tool="search_knowledge",
        arguments={"query": "$message"},
        after_tool="Per our policy: {result}",
    )
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    history = [UserMessage(text="Can I get a refund?")]
    first = await provider.complete(history, TOOLS)
    assert first.stop_reason == "tool_use"
    [call] = first.tool_calls
    assert call.name == "search_knowledge"
    assert call.arguments == {"query": "Can I get a refund?"}
    history += [
        first.as_message(),
        ToolResultMessage(tool_call_id=call.id, name=call.name, content="Refunds within 14 days."),
    ]
    second = await provider.complete(history, TOOLS)
    assert second.text == "Per our policy: Refunds within 14 days."
    assert second.stop_reason == "end_turn"
    # the tool definitions and the tool result went out in the vendor's wire shape
    sent = simulator.requests[-1].body
    assert "search_knowledge" in json.dumps(sent.get("tools"))
    assert "Refunds within 14 days." in simulator.requests[-1].body_text
    assert call.id in simulator.requests[-1].body_text


@pytest.mark.parametrize("vendor", VENDORS)
async def test_context_passages_are_rendered(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName
) -> None:
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    passage = ContextPassage(text="We open at nine.", source="faq.md", heading="Hours")
    await provider.complete([ContextMessage(passages=[passage]), UserMessage(text="When do you open?")])
    body = simulator.requests[-1].body_text
    assert "We open at nine." in body and "faq.md / Hours" in body


@pytest.mark.parametrize("vendor", VENDORS)
async def test_rate_limit_then_success_honours_retry_after(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName
) -> None:
    simulator.enqueue_fault("rate_limit", retry_after=0.25)
    sleeps: list[float] = []
    events: list[ProviderEvent] = []
    provider = build_provider(
        sim_settings(simulator, vendor),
        KEY,
        retry=fast_retry(sleeps=sleeps),
        events=events.append,
        clients=clients,
    )
    result = await provider.complete([UserMessage(text="hello")])
    assert result.text == "You said: hello"
    assert result.attempts == 2
    assert sleeps == [0.25]
    assert [e.kind for e in events] == ["retry"]
    assert [r.status for r in simulator.requests] == [429, 200]


async def test_rate_limit_without_retry_after_uses_jittered_backoff(
    simulator: Simulator, clients: ClientCache
) -> None:
    simulator.enqueue_fault("rate_limit", count=2)
    sleeps: list[float] = []
    provider = build_provider(
        sim_settings(simulator, "openai"),
        KEY,
        retry=fast_retry(max_attempts=3, sleeps=sleeps),
        clients=clients,
    )
    result = await provider.complete([UserMessage(text="hello")])
    assert result.attempts == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


async def test_rate_limit_exhausted_surfaces_rate_limited(simulator: Simulator, clients: ClientCache) -> None:
    simulator.enqueue_fault("rate_limit", retry_after=0.1, count=5)
    provider = build_provider(sim_settings(simulator, "anthropic"), KEY, retry=fast_retry(2), clients=clients)
    with pytest.raises(RateLimitedError) as info:
        await provider.complete([UserMessage(text="hello")])
    assert info.value.retry_after == pytest.approx(0.1)
    assert len(simulator.requests) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_invalid_key_is_not_retried_and_alerts(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName
) -> None:
    simulator.valid_keys = {"sk-the-right-one"}
    events: list[ProviderEvent] = []
    provider = build_provider(
        sim_settings(simulator, vendor), KEY, retry=fast_retry(), events=events.append, clients=clients
    )
    with pytest.raises(InvalidKeyError) as info:
        await provider.complete([UserMessage(text="hello")])
    assert len(simulator.requests) == 1
    assert info.value.needs_human
    assert [e.kind for e in events] == ["invalid_key"]
    assert events[0].key_fingerprint == ApiKey(KEY).fingerprint
    # the key shows nowhere: message, repr, chained causes, events
    error = info.value
    for text in (str(error), repr(error), repr(events), repr(provider)):
        assert KEY not in text and KEY[-12:] not in text
    assert error.__cause__ is None and error.__suppress_context__


@pytest.mark.parametrize("vendor", VENDORS)
async def test_timeout_then_retry(simulator: Simulator, clients: ClientCache, vendor: ProviderName) -> None:
    simulator.timeout_s = 3.0
    simulator.enqueue_fault("timeout")
    provider = build_provider(
        sim_settings(simulator, vendor, timeout_s=0.3), KEY, retry=fast_retry(), clients=clients
    )
    result = await provider.complete([UserMessage(text="are you there?")])
    assert result.attempts == 2
    assert result.text == "You said: are you there?"


async def test_per_call_timeout_is_bounded(simulator: Simulator, clients: ClientCache) -> None:
    simulator.timeout_s = 3.0
    simulator.enqueue_fault("timeout", count=3)
    provider = build_provider(sim_settings(simulator, "gemini"), KEY, retry=fast_retry(2), clients=clients)
    with pytest.raises(TransientProviderError) as info:
        await provider.complete([UserMessage(text="x")], settings=CallSettings(timeout_s=0.2))
    assert info.value.status is None


@pytest.mark.parametrize(
    ("vendor", "fault", "status"),
    [("openai", "server_error", 500), ("anthropic", "overloaded", 529), ("gemini", "overloaded", 503)],
)
async def test_transient_5xx_then_success(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName, fault: str, status: int
) -> None:
    simulator.enqueue_fault(fault)  # type: ignore[arg-type]
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    result = await provider.complete([UserMessage(text="hi")])
    assert result.attempts == 2
    assert [r.status for r in simulator.requests] == [status, 200]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_bad_request_is_not_retried(
    simulator: Simulator, clients: ClientCache, vendor: ProviderName
) -> None:
    simulator.enqueue_fault("bad_request")
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    with pytest.raises(BadRequestError) as info:
        await provider.complete([UserMessage(text="hi")])
    assert info.value.status == 400
    assert len(simulator.requests) == 1


async def test_fallback_provider_answers_when_primary_still_fails(
    simulator: Simulator, clients: ClientCache
) -> None:
    simulator.enqueue_fault("server_error", vendor="openai", count=3)
    settings = sim_settings(simulator, "openai").model_copy(
        update={"fallback": sim_settings(simulator, "anthropic")}
    )
    events: list[ProviderEvent] = []
    provider = build_provider(
        settings,
        KEY,
        fallback_api_key="sk-ant-fallback-key",
        retry=fast_retry(3),
        events=events.append,
        clients=clients,
    )
    result = await provider.complete([UserMessage(text="hello")])
    assert result.provider == "anthropic"
    assert result.text == "You said: hello"
    assert [e.kind for e in events] == ["retry", "retry", "gave_up", "fallback"]
    assert [(r.vendor, r.api_key) for r in simulator.requests][-1] == ("anthropic", "sk-ant-fallback-key")


async def test_fallback_not_used_for_bad_request(simulator: Simulator, clients: ClientCache) -> None:
    simulator.enqueue_fault("bad_request", vendor="openai")
    settings = sim_settings(simulator, "openai").model_copy(
        update={"fallback": sim_settings(simulator, "gemini")}
    )
    provider = build_provider(settings, KEY, fallback_api_key="g-key", retry=fast_retry(), clients=clients)
    with pytest.raises(BadRequestError):
        await provider.complete([UserMessage(text="hello")])
    assert {r.vendor for r in simulator.requests} == {"openai"}


async def test_tenant_keys_never_cross_under_concurrency(simulator: Simulator, clients: ClientCache) -> None:
    simulator.set_latency(0.02, 0.02, "uniform")
    tenants = {f"tenant{i}": f"sk-key-of-tenant{i}-{'x' * 20}" for i in range(4)}
    providers = {
        (tenant, vendor): build_provider(
            sim_settings(simulator, vendor), key, retry=fast_retry(), clients=clients
        )
        for tenant, key in tenants.items()
        for vendor in VENDORS
    }
    jobs = [(t, v, n) for (t, v) in providers for n in range(5)]
    random.Random(3).shuffle(jobs)
    results = await asyncio.gather(
        *(providers[(t, v)].complete([UserMessage(text=f"I am {t} call {n}")]) for t, v, n in jobs)
    )
    assert all(r.text.startswith("You said: I am ") for r in results)
    assert len(simulator.requests) == len(jobs)
    for request in simulator.requests:
        tenant = next(t for t in tenants if f"I am {t} " in request.body_text)
        assert request.api_key == tenants[tenant]
    # one client per tenant key and endpoint (OpenAI and OpenAI-compatible share the simulator's URL)
    assert len(clients) == len(tenants) * 3


async def test_keys_never_come_from_the_environment(
    simulator: Simulator, clients: ClientCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "OPENAI_ADMIN_KEY",
    ):
        monkeypatch.setenv(name, "env-key-must-not-be-used")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.255.255.1/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://10.255.255.1")
    for vendor in VENDORS:
        provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(1), clients=clients)
        await provider.complete([UserMessage(text="hi")])
    for request in simulator.requests:
        assert request.api_key == KEY
        headers = {k.lower() for k in request.headers}
        assert "openai-organization" not in headers and "openai-project" not in headers
    with pytest.raises(UserError):
        build_provider(sim_settings(simulator, "openai"), None)


async def test_real_network_is_refused(clients: ClientCache) -> None:
    provider = build_provider(
        ProviderSettings(
            provider="openai", model="gpt-4o-mini", base_url="http://10.255.255.1/v1", timeout_s=2
        ),
        KEY,
        retry=fast_retry(1),
        clients=clients,
    )
    with pytest.raises(TransientProviderError, match="connection failed"):
        await provider.complete([UserMessage(text="hi")])


@pytest.mark.parametrize("vendor", ["openai", "gemini", "openai-compatible"])
async def test_embeddings(simulator: Simulator, clients: ClientCache, vendor: ProviderName) -> None:
    provider = build_provider(sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=clients)
    assert provider.supports_embeddings
    result = await provider.embed(["opening hours", "opening hours today", "refund policy"])
    assert len(result.vectors) == 3 and len(result.vectors[0]) == simulator.embedding_dim

    def dot(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    v = result.vectors
    assert dot(v[0], v[1]) > dot(v[0], v[2])
    assert "refund policy" in simulator.requests[-1].body_text


async def test_anthropic_has_no_embeddings(simulator: Simulator, clients: ClientCache) -> None:
    provider = build_provider(sim_settings(simulator, "anthropic"), KEY, clients=clients)
    assert not provider.supports_embeddings
    with pytest.raises(UserError):
        await provider.embed(["x"])


async def test_price_override(simulator: Simulator, clients: ClientCache) -> None:
    settings = sim_settings(
        simulator, "openai", prices={"gpt-4o-mini": Price(input_per_mtok=1_000_000, output_per_mtok=0)}
    )
    provider = build_provider(settings, KEY, clients=clients)
    result = await provider.complete([UserMessage(text="hi")])
    assert result.cost_usd == pytest.approx(result.usage.input_tokens)


def test_api_key_hides_itself() -> None:
    key = ApiKey(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(UserError):
        ApiKey("  ")


@pytest.mark.parametrize("vendor", VENDORS)
def test_turns_in_their_own_event_loops_share_one_tls_context(
    simulator: Simulator, vendor: ProviderName, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker runs every turn in a new event loop, so every turn builds its SDK clients;
    loading the CA bundle for each of them was the largest part of a turn's CPU."""
    import httpcore2

    from agent.llm import clients as client_module

    built: list[object] = []
    default = httpcore2.default_ssl_context

    def counting(**kwargs: object) -> object:
        built.append(kwargs)
        return default(**kwargs)  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(httpcore2, "default_ssl_context", counting)
    client_module.tls_context.cache_clear()
    simulator.add_rule(r"\bhours\b", "9 to 5.")
    for _ in range(3):  # three turns
        provider = build_provider(
            sim_settings(simulator, vendor), KEY, retry=fast_retry(), clients=ClientCache()
        )
        reply = asyncio.run(provider.complete([UserMessage(text="What are your hours?")]))
        assert reply.text == "9 to 5."
    assert len(built) == 1
