"""Live events: every gateway process hears what any process published (Redis), only its
tenant's; on the embedded default a stream also notices changes made by another process."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from gateway.live import Hub, stream
from workers.events import ConsoleEvent, RedisPublisher


async def _never() -> bool:
    return False


async def _first_events(hub: Hub, tenant_id: int, count: int, publish: Any, latest: Any = None) -> list[str]:
    chunks: list[str] = []
    gen = stream(hub, tenant_id, _never, latest, seconds=5)
    chunks.append(await anext(gen))  # connected: subscribed
    publish()
    async for chunk in gen:
        if chunk.startswith("event:"):
            chunks.append(chunk)
            if len(chunks) > count:
                break
    await gen.aclose()
    return chunks[1:]


def test_every_gateway_process_hears_every_event_of_its_tenant_only(redis_url: str) -> None:
    import redis

    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    clients = [redis.Redis.from_url(redis_url) for _ in range(3)]
    one, two = Hub(clients[0], prefix), Hub(clients[1], prefix)
    worker = RedisPublisher(clients[2], prefix)

    def publish() -> None:
        worker.publish(ConsoleEvent(9, 1, "message"))  # another tenant's: never delivered
        worker.publish(ConsoleEvent(7, 42, "handoff"))  # a worker's handoff
        one.publish(ConsoleEvent(7, 42, "takeover"))  # an agent on gateway one

    async def both() -> tuple[list[str], list[str]]:
        return await asyncio.gather(_first_events(one, 7, 2, lambda: None), _first_events(two, 7, 2, publish))

    try:
        heard_one, heard_two = asyncio.run(both())
    finally:
        one.close()
        two.close()
        for client in clients:
            client.close()
    for heard in (heard_one, heard_two):
        assert ['"kind":"handoff"' in h for h in heard] == [True, False]
        assert '"kind":"takeover"' in heard[1] and '"conversation_id":42' in heard[1]
        assert not any('"tenant_id":9' in h for h in heard)


def test_the_embedded_hub_delivers_in_process_and_polls_for_other_processes() -> None:
    hub = Hub()
    changes = iter([(1, 1.0), (5, 2.0)])

    async def latest() -> tuple[int, float] | None:
        return next(changes, (5, 2.0))

    heard = asyncio.run(_first_events(hub, 3, 2, lambda: hub.publish(ConsoleEvent(3, 8, "reply")), latest))
    assert '"conversation_id":8' in heard[0] and '"kind":"reply"' in heard[0]
    assert '"conversation_id":5' in heard[1]  # a worker elsewhere changed conversation 5
