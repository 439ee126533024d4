"""The simulator's own behaviour, retry policy details, pricing and message serialization."""

from __future__ import annotations

import email.utils
import json
import random
import time
from pathlib import Path

import httpx
import pytest

from agent.llm.pricing import cost_usd, find_price
from agent.llm.retry import RetryPolicy, parse_retry_after
from agent.llm.simulator import Latency, Simulator, load_script
from agent.llm.testing import running_simulator
from agent.llm.types import (
    AssistantMessage,
    ContextMessage,
    ContextPassage,
    MessagesAdapter,
    Price,
    ProviderSettings,
    SystemMessage,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from errors import RateLimitedError, RetryLater, TransientProviderError


def test_records_requests_without_auth_header_values(simulator: Simulator) -> None:
    response = httpx.post(
        f"{simulator.url}/v1/chat/completions",
        headers={"Authorization": "Bearer sk-secret-value"},
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200
    [request] = simulator.requests
    assert request.api_key == "sk-secret-value"
    assert "sk-secret-value" not in json.dumps(request.headers)
    assert request.key_hash and request.body["messages"][0]["content"] == "hi"


def test_missing_key_gets_the_vendors_401(simulator: Simulator) -> None:
    response = httpx.post(f"{simulator.url}/v1/messages", json={"model": "m", "messages": []})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_script_file_and_fault_rates(tmp_path: Path) -> None:
    script = tmp_path / "sim.yaml"
    script.write_text(
        "rules:\n  - pattern: hours\n    reply: We open at 9.\nfault_rates:\n  server_error: 0.5\nseed: 1\n",
        encoding="utf-8",
    )
    with running_simulator(load_script(script)) as sim:
        statuses = [
            httpx.post(
                f"{sim.url}/v1/chat/completions",
                headers={"Authorization": "Bearer k"},
                json={"model": "m", "messages": [{"role": "user", "content": "your hours?"}]},
            )
            for _ in range(40)
        ]
    codes = [r.status_code for r in statuses]
    assert 8 < codes.count(500) < 32
    ok = next(r for r in statuses if r.status_code == 200)
    assert ok.json()["choices"][0]["message"]["content"] == "We open at 9."


def test_latency_distributions_are_seeded_and_non_negative() -> None:
    for dist in ("fixed", "uniform", "normal", "lognormal", "exponential"):
        latency = Latency.model_validate({"distribution": dist, "mean_s": 1.0, "spread_s": 0.5})
        a = [latency.sample(random.Random(5)) for _ in range(3)]
        b = [latency.sample(random.Random(5)) for _ in range(3)]
        assert a == b and all(x >= 0 for x in a)
    samples = [
        Latency(distribution="lognormal", mean_s=1.0, spread_s=0.3).sample(random.Random(i))
        for i in range(400)
    ]
    assert 0.9 < sum(samples) / len(samples) < 1.1


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 10, usegmt=True)
    parsed = parse_retry_after({"retry-after": date}, now=now)
    assert parsed is not None and 8 <= parsed <= 11
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_retry_policy_decisions() -> None:
    policy = RetryPolicy(
        max_attempts=4, base_delay_s=1, max_delay_s=3, max_retry_after_s=10, rng=random.Random(1)
    )
    transient = TransientProviderError("x", status=500)
    delays = [policy.delay(n, transient) for n in (1, 2, 3)]
    assert [d is not None for d in delays] == [True, True, True]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 1.5 <= delays[2] <= 3  # type: ignore[operator]
    assert policy.delay(4, transient) is None
    assert policy.delay(1, RateLimitedError("x", retry_after=2)) == 2
    assert policy.delay(1, RateLimitedError("x", retry_after=60)) is None  # too long: the worker defers
    later = RetryLater.from_error(RateLimitedError("x", retry_after=60))
    assert later.defer == 60
    assert RetryLater.from_error(transient, default_defer=5).defer == 5


def test_pricing_with_overrides_and_prefixes() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost_usd("gpt-4o-mini", usage) == pytest.approx(0.75)
    assert cost_usd("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.75)
    assert cost_usd("models/gemini-2.5-flash", usage) == pytest.approx(2.8)
    assert cost_usd("my-local-llama", usage) is None
    override = {"my-local-llama": Price(input_per_mtok=0.01, output_per_mtok=0.02)}
    assert cost_usd("my-local-llama", usage, override) == pytest.approx(0.03)
    assert find_price("gpt-4o", {"gpt-4o": Price(input_per_mtok=0, output_per_mtok=0)}) == Price(
        input_per_mtok=0, output_per_mtok=0
    )


def test_messages_and_settings_round_trip_through_json() -> None:
    messages = [
        SystemMessage(text="be brief"),
        UserMessage(text="hola"),
        ContextMessage(passages=[ContextPassage(text="t", source="s", heading="h", score=0.5)]),
        AssistantMessage(
            text="", tool_calls=[ToolCall(id="c1", name="search_knowledge", arguments={"query": "q"})]
        ),
        ToolResultMessage(
            tool_call_id="c1", name="search_knowledge", content="[]", passages=[ContextPassage(text="p")]
        ),
    ]
    raw = MessagesAdapter.dump_json(messages)
    assert MessagesAdapter.validate_json(raw) == messages
    assert [m["kind"] for m in json.loads(raw)] == ["system", "user", "context", "assistant", "tool"]
    settings = ProviderSettings(
        provider="openai", model="gpt-4o", fallback=ProviderSettings(provider="extractive")
    )
    assert ProviderSettings.model_validate_json(settings.model_dump_json()) == settings
    assert "key" not in settings.model_dump_json().lower()
