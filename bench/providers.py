"""Adapter overhead per call: our provider (official SDK inside) vs a raw HTTP call to the same endpoint.

Run: ``uv run python bench/providers.py [--calls 300]``. Prints, per vendor, the mean latency of
a raw ``httpx`` POST of the same body, of an adapter ``complete`` call, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx

from agent.llm.clients import ClientCache
from agent.llm.factory import build_provider
from agent.llm.testing import fast_retry, running_simulator, sim_settings
from agent.llm.types import ProviderName, SystemMessage, ToolSpec, UserMessage

KEY = "sk-bench-0123456789abcdef"
MESSAGES = [SystemMessage(text="You are a receptionist."), UserMessage(text="When do you open on Saturday?")]
TOOLS = [ToolSpec(name="business_hours", description="Opening hours.")]
RAW: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "openai": (
        "/v1/chat/completions",
        {"Authorization": f"Bearer {KEY}"},
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a receptionist."},
                {"role": "user", "content": "When do you open on Saturday?"},
            ],
        },
    ),
    "anthropic": (
        "/v1/messages",
        {"x-api-key": KEY, "anthropic-version": "2023-06-01"},
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 1024,
            "system": "You are a receptionist.",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "When do you open on Saturday?"}]}
            ],
        },
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"x-goog-api-key": KEY},
        {
            "systemInstruction": {"parts": [{"text": "You are a receptionist."}]},
            "contents": [{"role": "user", "parts": [{"text": "When do you open on Saturday?"}]}],
        },
    ),
}


async def bench(calls: int) -> None:
    """Measure both paths per vendor in one run against one simulator."""
    with running_simulator() as sim:
        async with httpx.AsyncClient(base_url=sim.url) as raw:
            print(f"{'vendor':<10} {'raw ms':>8} {'adapter ms':>11} {'ratio':>6}")
            for vendor in ("openai", "anthropic", "gemini"):
                path, headers, body = RAW[vendor]
                name: ProviderName = vendor  # type: ignore[assignment]
                provider = build_provider(
                    sim_settings(sim, name), KEY, retry=fast_retry(1), clients=ClientCache()
                )
                for _ in range(20):  # warm up both paths
                    (await raw.post(path, headers=headers, json=body)).raise_for_status()
                    await provider.complete(MESSAGES)
                raw_s = adapter_s = 0.0
                for _ in range(calls):  # interleaved so drift affects both equally
                    t0 = time.perf_counter()
                    response = await raw.post(path, headers=headers, json=body)
                    response.raise_for_status()
                    response.json()
                    t1 = time.perf_counter()
                    await provider.complete(MESSAGES)
                    t2 = time.perf_counter()
                    raw_s += t1 - t0
                    adapter_s += t2 - t1
                raw_ms, adapter_ms = raw_s / calls * 1000, adapter_s / calls * 1000
                print(f"{vendor:<10} {raw_ms:8.2f} {adapter_ms:11.2f} {adapter_ms / raw_ms:6.2f}")


def main() -> None:
    """CLI entry."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(bench(parser.parse_args().calls))


if __name__ == "__main__":
    main()
