"""A tenant's provider base URL is checked again when the SDK connects, and the connection goes
to the checked address (no second DNS answer: DNS rebinding)."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from agent.llm.clients import ClientCache
from agent.llm.factory import build_provider
from agent.llm.hosts import AsyncPinnedTransport, HostPolicy, HostRefused
from agent.llm.simulator import Simulator
from agent.llm.testing import fast_retry, sim_settings
from agent.llm.types import UserMessage
from errors import ProviderError

KEY = "sk-test-tenant-a-0123456789abcdef"


def test_the_request_goes_to_the_checked_address_with_its_own_name() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    lookups: list[tuple[str, int]] = []

    def pick(host: str, port: int) -> str:
        lookups.append((host, port))
        return "93.184.215.14"

    async def call() -> None:
        async with httpx2.AsyncClient(
            transport=AsyncPinnedTransport(pick, httpx2.MockTransport(answer))
        ) as client:
            await client.post("https://llm.example.test/v1/chat/completions", json={})

    asyncio.run(call())
    (request,) = seen
    assert lookups == [("llm.example.test", 443)]
    assert request.url.host == "93.184.215.14" and request.headers["host"] == "llm.example.test"
    assert request.extensions["sni_hostname"] == "llm.example.test"  # TLS checks the name, not the address


def test_a_refused_host_is_never_contacted() -> None:
    seen: list[httpx2.Request] = []
    policy = HostPolicy((), resolver=lambda _h, _p: ["10.0.0.7"])  # now answers a private address

    async def call() -> None:
        transport = policy.transport(httpx2.MockTransport(lambda r: seen.append(r) or httpx2.Response(200)))
        async with httpx2.AsyncClient(transport=transport) as client:
            await client.get("https://llm.example.test/v1/models")

    with pytest.raises(httpx2.ConnectError, match="private"):
        asyncio.run(call())
    assert seen == []


def test_what_the_policy_lets_a_connection_reach() -> None:
    public = HostPolicy(
        (), resolver=lambda _h, _p: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    )
    assert public.address_for("llm.example.test", 443) == "93.184.215.14"
    mixed = HostPolicy((), resolver=lambda _h, _p: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(HostRefused):
        mixed.address_for("llm.example.test", 443)
    listed = HostPolicy(("vllm.lan:8000",), resolver=lambda _h, _p: ["10.0.0.5"])
    assert listed.address_for("vllm.lan", 8000) == "vllm.lan"  # the operator's own: not pinned
    with pytest.raises(HostRefused, match="FRONTDESK_PROVIDER_HOSTS"):
        listed.address_for("llm.example.test", 443)


async def test_a_pinned_provider_refuses_a_loopback_endpoint_at_connect_time(
    simulator: Simulator, clients: ClientCache
) -> None:
    """The simulator listens on 127.0.0.1: a tenant's URL pointing there passes no pre-check
    here, and the SDK's own connection is refused; the operator's listing lets it through."""
    settings = sim_settings(simulator, "openai-compatible")
    pinned = build_provider(
        settings.model_copy(update={"pinned_hosts": ()}), KEY, retry=fast_retry(1), clients=clients
    )
    with pytest.raises(ProviderError):
        await pinned.complete([UserMessage(text="hi")])
    assert simulator.requests == []
    listed = build_provider(
        settings.model_copy(update={"pinned_hosts": ("127.0.0.1",)}),
        KEY,
        retry=fast_retry(1),
        clients=clients,
    )
    assert (await listed.complete([UserMessage(text="hi")])).provider == "openai-compatible"
    assert len(simulator.requests) == 1
