"""What a worker hands the agent for one turn, and what it gets back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.redaction.vault import VaultItem
    from knowledge.search import KnowledgeState


@dataclass(frozen=True)
class TurnCustomer:
    """Who the turn answers, read with the turn (one transaction fewer for the runner)."""

    customer_id: str | None
    """WhatsApp id, else business-scoped id."""
    profile_name: str | None
    human_messages: tuple[str, ...]
    """What human agents wrote since the bot last spoke, oldest first."""

    def __repr__(self) -> str:  # never print who
        return f"TurnCustomer(human_messages={len(self.human_messages)})"


@dataclass(frozen=True)
class OpenedTurn:
    """A turn :func:`workers.mailbox.open_turn` opened: everything the agent needs for it.

    ``texts`` are decrypted, in arrival order.

    ``turn_id`` is stable across retries of the same turn (conversation + first message id),
    so the graph may use it as its run id. ``deadline`` is a :func:`time.monotonic` instant the
    runner should respect (the threads pool cannot cancel a running turn).
    """

    tenant_id: int
    conversation_id: int
    turn_id: str
    epoch: int
    message_ids: tuple[int, ...]
    texts: tuple[str, ...]
    deadline: float = field(default_factory=lambda: time.monotonic() + 120.0)
    attempt: int = 1
    customer: TurnCustomer | None = None
    """Read by :func:`workers.mailbox.open_turn` for a bot turn (None: the runner reads it)."""
    settings_version: int | None = None
    """The tenant's ``settings_version``, read with the turn (None: the runtime checks it)."""
    vault_items: tuple[VaultItem, ...] | None = None
    """The conversation's vault entries (``SqlVault``'s), read with a bot turn on PostgreSQL
    (None: the turn reads them). Values print as ``***``."""
    knowledge_state: KnowledgeState | None = None
    """The tenant's knowledge state (``knowledge.search.tenant_state_in``), read with a bot
    turn on PostgreSQL (None: each search reads it)."""

    def __repr__(self) -> str:  # never print message bodies
        return (
            f"OpenedTurn(tenant_id={self.tenant_id}, conversation_id={self.conversation_id}, "
            f"turn_id={self.turn_id!r}, epoch={self.epoch}, messages={len(self.message_ids)})"
        )

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class TurnResult:
    """The outcome of a turn: a reply, a handoff to a human, or both (a handoff notice)."""

    reply: str | None = None
    handoff: bool = False
    handoff_summary: str | None = None
    citations: list[str] = field(default_factory=list[str])
    disclosure: str | None = None
    """The AI disclosure the reply opens with, recorded as a consent event with the reply."""
    language: str | None = None
    error: str | None = None
    """Why the turn went wrong though it ended (a refused provider key…): the run's ``last_error``."""

    def __repr__(self) -> str:
        return f"TurnResult(reply={'…' if self.reply else None}, handoff={self.handoff})"


class TurnRunner(Protocol):
    """Runs the agent graph for one turn.

    Raise :class:`errors.RetryLater` when the turn should run again later (the provider's
    429 or 5xx): the drain reschedules it, slowing only that tenant.
    """

    def run_turn(self, turn: OpenedTurn) -> TurnResult: ...


def turn_id_for(conversation_id: int, first_message_id: int) -> str:
    """The turn's id: the same for every retry of the turn that starts at that message."""
    return f"{conversation_id}-{first_message_id}"
