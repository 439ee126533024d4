"""The SDK client cache: clients live across a thread's turns on its long-lived loop, are
the owner's (tenant's) own, and are closed once the owner's key changes or the LRU is full."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from agent.llm.clients import ClientCache
from agent.llm.types import ApiKey
from agent.loops import run_in_thread_loop, thread_loop


class _Clients:
    """Builds numbered fake clients and records which were closed."""

    def __init__(self) -> None:
        self.built: list[int] = []
        self.closed: list[int] = []

    def build(self) -> int:
        self.built.append(len(self.built) + 1)
        return self.built[-1]

    async def close(self, client: Any) -> None:
        self.closed.append(client)


def _get(cache: ClientCache, clients: _Clients, key: str, base_url: str = "http://sim/v1") -> Any:
    async def turn() -> Any:
        client = cache.get("openai", base_url, ApiKey(key), 30.0, clients.build, clients.close)
        await asyncio.sleep(0)  # lets closing tasks run
        await asyncio.sleep(0)
        return client

    return run_in_thread_loop(turn())


def test_a_thread_keeps_its_loop_and_its_clients_across_turns() -> None:
    cache, clients = ClientCache().for_owner("tenant:1"), _Clients()
    assert thread_loop() is thread_loop()
    first = [_get(cache, clients, "sk-a") for _ in range(5)]
    assert first == [1] * 5 and clients.built == [1]
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(_get(cache, clients, "sk-a")))
    thread.start()
    thread.join()
    assert other == [2]  # another thread's loop has a client of its own
    assert _get(cache, clients, "sk-a") == 1


def test_a_changed_key_closes_the_tenants_old_client() -> None:
    shared, clients = ClientCache(), _Clients()
    tenant = shared.for_owner("tenant:1")
    assert _get(tenant, clients, "sk-old") == 1
    assert _get(tenant, clients, "sk-new") == 2
    assert clients.closed == [1]
    assert _get(tenant, clients, "sk-new") == 2 and clients.built == [1, 2]


def test_tenants_never_share_a_client_even_with_the_same_key() -> None:
    shared, clients = ClientCache(), _Clients()
    a, b = shared.for_owner("tenant:1"), shared.for_owner("tenant:2")
    assert _get(a, clients, "sk-same") == 1
    assert _get(b, clients, "sk-same") == 2
    assert _get(b, clients, "sk-b") == 3  # b's key changed: only b's old client goes
    assert clients.closed == [2]
    assert _get(a, clients, "sk-same") == 1


def test_the_least_recently_used_client_is_closed_past_the_limit() -> None:
    cache, clients = ClientCache(maxsize=2), _Clients()
    for n in range(3):
        _get(cache, clients, f"sk-{n}", base_url=f"http://sim{n}/v1")
    assert clients.closed == [1]
    assert len(cache) == 2
