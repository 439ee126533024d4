"""The provider interface every adapter implements, and provider events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from agent.llm.types import CallSettings, Completion, Embeddings, Message, ToolSpec
from errors import UserError

EventKind = Literal["invalid_key", "retry", "fallback", "gave_up"]


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """Something the operator may need to see (never carries the key)."""

    kind: EventKind
    provider: str
    model: str
    detail: str = ""
    status: int | None = None
    delay_s: float | None = None
    key_fingerprint: str = ""
    extra: dict[str, str] = field(default_factory=dict[str, str])


EventSink = Callable[[ProviderEvent], None]
"""Receives provider events; the graph turns ``invalid_key`` into an operator alert."""


def ignore_events(_event: ProviderEvent) -> None:
    """The default event sink."""


class Provider(ABC):
    """A model behind one small async interface."""

    name: ClassVar[str] = ""
    supports_embeddings: ClassVar[bool] = False

    model: str

    @abstractmethod
    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """Run one model call over the conversation, offering ``tools``."""

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Vectors for ``texts`` (only where the provider has embeddings)."""
        raise UserError(f"{type(self).__name__} has no embeddings")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources held outside the shared client cache."""
