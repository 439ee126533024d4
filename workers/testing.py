"""Fakes shipped with the package: a simulated turn runner, a recording sender, a list queue.

They stand in for the agent graph and the WhatsApp client in tests and the bench.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field

from errors import PermanentSendError, SendError
from workers.turns import OpenedTurn, TurnResult


def simulated_reply(turn: OpenedTurn) -> str:
    """A deterministic reply to a turn (the same texts give the same reply)."""
    digest = hashlib.sha256("\n".join(turn.texts).encode()).hexdigest()[:12]
    return f"reply {digest} to {len(turn.texts)} message(s)"


@dataclass
class SimulatedRunner:
    """Sleeps a random simulated model latency, then replies deterministically."""

    min_latency: float = 0.0
    max_latency: float = 0.05
    calls: list[OpenedTurn] = field(default_factory=list[OpenedTurn])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        with self._lock:
            self.calls.append(turn)
        time.sleep(min(random.uniform(self.min_latency, self.max_latency), turn.remaining()))
        return TurnResult(reply=simulated_reply(turn), citations=["kb:1"])


@dataclass
class FailingRunner:
    """Raises ``error`` for the first ``failures`` calls (forever with None), then replies."""

    error: Exception = field(default_factory=lambda: RuntimeError("model exploded"))
    failures: int | None = None
    calls: int = 0

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise self.error
        return TurnResult(reply=simulated_reply(turn))


@dataclass
class HandoffRunner:
    """Hands every turn to a human, with a notice to the customer."""

    notice: str | None = "A person will answer you shortly."

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        return TurnResult(reply=self.notice, handoff=True, handoff_summary="customer asks for a person")


@dataclass(frozen=True)
class SentRecord:
    tenant_id: int
    conversation_id: int
    to: str
    text: str
    idempotency_key: str
    wa_message_id: str
    started: float
    finished: float
    template: tuple[str, str, tuple[str, ...]] | None = None
    """(name, language, parameters) of a template send; ``text`` is then the name."""


@dataclass
class RecordingSender:
    """Records every send with its monotonic start and end; may sleep and fail on purpose."""

    min_latency: float = 0.0
    max_latency: float = 0.0
    fail_with: list[Exception] = field(default_factory=list[Exception])
    sent: list[SentRecord] = field(default_factory=list[SentRecord])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str:
        return self._record(tenant_id, conversation_id, to, text, idempotency_key, None)

    def send_template(
        self,
        *,
        tenant_id: int,
        conversation_id: int,
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        idempotency_key: str,
    ) -> str:
        template = (name, language, tuple(parameters))
        return self._record(tenant_id, conversation_id, to, name, idempotency_key, template)

    def _record(
        self,
        tenant_id: int,
        conversation_id: int,
        to: str,
        text: str,
        idempotency_key: str,
        template: tuple[str, str, tuple[str, ...]] | None,
    ) -> str:
        started = time.monotonic()
        with self._lock:
            error = self.fail_with.pop(0) if self.fail_with else None
        if self.max_latency:
            time.sleep(random.uniform(self.min_latency, self.max_latency))
        if error is not None:
            raise error
        wa_id = "wamid." + hashlib.sha256(f"{idempotency_key}:{started}".encode()).hexdigest()[:24]
        record = SentRecord(
            tenant_id, conversation_id, to, text, idempotency_key, wa_id, started, time.monotonic(), template
        )
        with self._lock:
            self.sent.append(record)
        return wa_id


def rate_limited(retry_after: float | None = 1.0) -> SendError:
    return SendError("rate limited", reason="rate_limited", retryable=True, retry_after=retry_after)


def opted_out() -> PermanentSendError:
    return PermanentSendError("opted out", reason="opted_out")


@dataclass
class ListEnqueuer:
    """Collects wake-ups instead of sending them to a broker."""

    drains: list[tuple[int, int, float]] = field(default_factory=list[tuple[int, int, float]])
    sends: list[tuple[int, int, float]] = field(default_factory=list[tuple[int, int, float]])
    backlog: float = 0.0
    """What :meth:`drain_backlog` answers (the test delivers the collected wake-ups itself)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def drain(self, tenant_id: int, conversation_id: int, countdown: float = 0.0) -> None:
        with self._lock:
            self.drains.append((tenant_id, conversation_id, countdown))

    def send(self, tenant_id: int, outbox_id: int, countdown: float = 0.0) -> None:
        with self._lock:
            self.sends.append((tenant_id, outbox_id, countdown))

    def drain_backlog(self) -> float:
        return self.backlog

    def take_sends(self) -> list[tuple[int, int, float]]:
        with self._lock:
            taken, self.sends = self.sends, []
            return taken
