"""Test helpers that ship with the package: the running simulator and fast retry policies."""

from __future__ import annotations

import random
from collections.abc import Generator
from contextlib import contextmanager

from agent.llm.retry import RetryPolicy
from agent.llm.simulator import Simulator, SimulatorScript, SimulatorServer
from agent.llm.types import ProviderName, ProviderSettings


@contextmanager
def running_simulator(script: SimulatorScript | None = None) -> Generator[Simulator]:
    """A simulator serving on 127.0.0.1 on a random port for the duration of the block."""
    simulator = Simulator(script)
    server = SimulatorServer(simulator)
    server.start()
    try:
        yield simulator
    finally:
        server.stop()


def fast_retry(max_attempts: int = 3, sleeps: list[float] | None = None) -> RetryPolicy:
    """A retry policy that does not really sleep; requested delays are appended to ``sleeps``."""

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return RetryPolicy(max_attempts=max_attempts, sleep=sleep, rng=random.Random(7))


SIM_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "openai-compatible": "llama3.1",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}


def simulator_base_url(simulator: Simulator, provider: ProviderName) -> str:
    """The base URL a provider's SDK needs to reach the simulator."""
    if provider in ("openai", "openai-compatible"):
        return f"{simulator.url}/v1"
    return simulator.url + ("/" if provider == "gemini" else "")


def sim_settings(simulator: Simulator, provider: ProviderName, **overrides: object) -> ProviderSettings:
    """Settings pointing ``provider`` at the simulator with a short timeout."""
    data: dict[str, object] = {
        "provider": provider,
        "model": SIM_MODELS.get(provider, "extractive"),
        "base_url": simulator_base_url(simulator, provider) if provider != "extractive" else None,
        "timeout_s": 5.0,
    }
    data.update(overrides)
    return ProviderSettings.model_validate(data)
