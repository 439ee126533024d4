"""Live conversation events for the agents' console: published where things happen.

An event names a tenant, a conversation and what happened (``message``, ``handoff``,
``takeover``, ``handback``, ``assigned``, ``reply``, ``note``); it never carries a message body
or a customer's data, so a listener reads the details back through the tenant's own session.

In production every gateway and worker publishes to one Redis pub/sub channel, and every
gateway process listens to it (``gateway.live.Hub``); on the embedded default the gateway
publishes in-process. Publishing never fails the caller: a lost event costs a console a
refresh, never a message.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

log = logging.getLogger("frontdesk.events")

KINDS = frozenset({"message", "handoff", "takeover", "handback", "assigned", "reply", "note", "status"})


@dataclass(frozen=True)
class ConsoleEvent:
    tenant_id: int
    conversation_id: int
    kind: str
    at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> ConsoleEvent | None:
        """The event in ``raw``, or None when it is not one of ours."""
        try:
            data: Any = json.loads(raw)
            event = cls(
                int(data["tenant_id"]), int(data["conversation_id"]), str(data["kind"]), float(data["at"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        return event if event.kind in KINDS else None


class Publisher(Protocol):
    def publish(self, event: ConsoleEvent) -> None: ...


class NullPublisher:
    """No listener to tell (a worker without Redis: the console polls for what it missed)."""

    def publish(self, event: ConsoleEvent) -> None:
        return None


def channel_name(prefix: str) -> str:
    """The Redis pub/sub channel of a deployment (its key prefix keeps test runs apart)."""
    return f"{prefix}console:events"


class RedisPublisher:
    """Publish to the deployment's Redis channel (every gateway process is subscribed)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client, self.channel = client, channel_name(prefix)

    def publish(self, event: ConsoleEvent) -> None:
        try:
            self.client.publish(self.channel, event.to_json())
        except Exception as exc:  # the console catches up on its next refresh
            log.warning("events: could not publish %s (%s)", event.kind, type(exc).__name__)
