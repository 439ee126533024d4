"""The tracing interface the agent uses; Langfuse is one implementation, a no-op another.

Everything handed to a trace must already be redacted. The Langfuse implementation masks
again as a second net, but user ids, session ids and metadata are never masked by the SDK,
so callers pass only hashed or synthetic identifiers there.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ObservationType = Literal["span", "tool", "retriever", "guardrail", "chain", "agent", "generation"]


@dataclass(frozen=True)
class TurnInfo:
    """What identifies a turn in the trace; none of it is personal data."""

    tenant_id: int
    tenant_slug: str
    conversation_id: int
    turn_id: str
    user_hash: str
    """A keyed hash of the customer's WhatsApp id, never the number."""
    input: Any = None
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    """More trace metadata (synthetic values only: it is never masked)."""
    tags: tuple[str, ...] = ()
    """More trace tags (``eval`` for a tenant eval's sandbox turns)."""


class Observation(Protocol):
    """An open span inside a turn."""

    def update(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None: ...


class TurnTrace(Protocol):
    """The trace of one turn: spans and generations under one root."""

    @property
    def trace_id(self) -> str | None: ...

    def span(
        self, name: str, *, as_type: ObservationType = "span", input: Any = None
    ) -> Any:  # a context manager yielding an Observation
        ...

    def generation(
        self,
        name: str,
        *,
        model: str,
        input: Any,
        output: Any,
        usage: dict[str, int],
        cost_usd: float | None,
        metadata: dict[str, Any] | None = None,
    ) -> None: ...

    def finish(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None: ...


class Tracer(Protocol):
    """Opens one trace per turn and flushes at the end of each task."""

    def turn(self, info: TurnInfo) -> Any:  # a context manager yielding a TurnTrace
        ...

    def flush(self) -> None: ...


class _NoopObservation:
    def update(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None:
        return None


class NoopTurnTrace:
    """A turn trace that records nothing."""

    @property
    def trace_id(self) -> str | None:
        return None

    @contextmanager
    def span(
        self, name: str, *, as_type: ObservationType = "span", input: Any = None
    ) -> Generator[Observation]:
        yield _NoopObservation()

    def generation(
        self,
        name: str,
        *,
        model: str,
        input: Any,
        output: Any,
        usage: dict[str, int],
        cost_usd: float | None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        return None

    def finish(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None:
        return None


class NoopTracer:
    """Tracing switched off (the embedded default)."""

    @contextmanager
    def turn(self, info: TurnInfo) -> Generator[NoopTurnTrace]:
        yield NoopTurnTrace()

    def flush(self) -> None:
        return None
