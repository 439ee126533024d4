"""The gateway's live events: a fan-out to this process's Server-Sent Events streams.

With Redis (production) every event is published to the deployment's channel and one
listener thread per gateway process hands what it hears to the local streams, so every
process sees what any gateway or worker published. Without Redis (embedded default) events
are handed over in-process, and each stream also polls its tenant's most recently changed
conversation every few seconds, which catches what a worker in another process did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

from workers.events import ConsoleEvent, RedisPublisher, channel_name

log = logging.getLogger("frontdesk.gateway.live")

HEARTBEAT_SECONDS = 10.0
POLL_SECONDS = 3.0


@dataclass(eq=False)
class Subscriber:
    tenant_id: int
    queue: asyncio.Queue[ConsoleEvent]
    loop: asyncio.AbstractEventLoop

    def offer(self, event: ConsoleEvent) -> None:
        def put() -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a stalled browser misses events, not memory
                self.queue.put_nowait(event)

        with contextlib.suppress(RuntimeError):  # the stream's loop is closed
            self.loop.call_soon_threadsafe(put)


class Hub:
    """Publish events and subscribe this process's streams to a tenant's events."""

    def __init__(self, redis: Any = None, prefix: str = "frontdesk:") -> None:
        self.redis, self.prefix = redis, prefix
        self._publisher = RedisPublisher(redis, prefix) if redis is not None else None
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if redis is not None:  # listen from the start, so the first stream need not wait
            self._start_listener()

    @property
    def local(self) -> bool:
        """True when only this process's own events arrive (no Redis)."""
        return self._publisher is None

    def publish(self, event: ConsoleEvent) -> None:
        if self._publisher is not None:
            self._publisher.publish(event)
        else:
            self.dispatch(event)

    def dispatch(self, event: ConsoleEvent) -> None:
        with self._lock:
            targets = [s for s in self._subscribers if s.tenant_id == event.tenant_id]
        for subscriber in targets:
            subscriber.offer(event)

    @contextlib.contextmanager
    def subscribe(self, tenant_id: int) -> Generator[Subscriber]:
        """A subscription for the running event loop (ready to receive when entered)."""
        subscriber = Subscriber(tenant_id, asyncio.Queue(maxsize=1000), asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        self._ensure_listener()
        try:
            yield subscriber
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()

    def _start_listener(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="console-events", daemon=True)
                self._thread.start()

    def _ensure_listener(self) -> None:
        if self.redis is not None:
            self._start_listener()
            self._listening.wait(2.0)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub: Any = None
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel_name(self.prefix))
                self._listening.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        event = ConsoleEvent.from_json(message["data"])
                        if event is not None:
                            self.dispatch(event)
            except Exception as exc:
                log.warning("live events: Redis listener failed (%s); reconnecting", type(exc).__name__)
                self._stop.wait(1.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()


Latest = Callable[[], Awaitable[tuple[int, float] | None]]
"""The tenant's most recently changed conversation and when (for the embedded poll)."""


def sse(event: ConsoleEvent) -> str:
    return f"event: conversation\ndata: {event.to_json()}\n\n"


async def stream(
    hub: Hub,
    tenant_id: int,
    disconnected: Callable[[], Awaitable[bool]],
    latest: Latest | None = None,
    seconds: float | None = None,
) -> AsyncIterator[str]:
    """Server-Sent Events for one tenant: ``conversation`` events and keep-alive comments,
    until the client goes, the hub closes or ``seconds`` have passed."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds if seconds is not None else None
    with hub.subscribe(tenant_id) as subscriber:
        yield "retry: 2000\n: connected\n\n"
        poll = latest if hub.local else None
        seen = await poll() if poll is not None else None
        wait = POLL_SECONDS if poll is not None else HEARTBEAT_SECONDS
        while not hub.closed and not await disconnected():
            left = None if until is None else until - loop.time()
            if left is not None and left <= 0:
                return
            try:
                timeout = wait if left is None else min(wait, left)
                event = await asyncio.wait_for(subscriber.queue.get(), timeout=timeout)
            except TimeoutError:
                if poll is not None:
                    now = await poll()
                    if now is not None and now != seen:
                        seen = now
                        yield sse(ConsoleEvent(tenant_id, now[0], "message"))
                        continue
                yield ": keep-alive\n\n"
                continue
            yield sse(event)
