"""Per-run context: tenant-bound services and the customer's raw text, never checkpointed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.llm.base import Provider
from agent.redaction.redactor import Redactor
from agent.tenant import TenantProfile
from agent.tools.base import ToolContext
from agent.tracing.base import TurnTrace


@dataclass
class TurnOutput:
    """What the turn produced for the outside world (restored values: never checkpointed)."""

    reply: str | None = None
    """The reply for the customer, placeholders restored."""
    handoff: bool = False
    handoff_reason: str | None = None
    summary: str | None = None
    """A short summary for the human agent, placeholders restored."""
    citations: list[str] = field(default_factory=list[str])
    blocked: list[str] = field(default_factory=list[str])
    """Why the guard replaced the model's reply, if it did."""
    language: str = "en"
    """The customer's language."""
    reply_language: str | None = None
    """The language the reply was detected in (evals compare it with ``language``)."""
    disclosure: str | None = None
    """The AI disclosure the reply opens with (the first reply of a conversation), to record."""
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    model_calls: int = 0
    """Model calls that answered."""
    error: str | None = None
    """Why the provider failed the turn (short, secret-free: ``errors.ProviderError.describe``)."""


@dataclass(kw_only=True)
class Context:
    """Everything a node may use, bound to one tenant and one conversation."""

    tenant_id: int
    tenant_slug: str
    conversation_id: int
    profile: TenantProfile
    incoming: list[str]
    """The customer's messages of this turn, as received (personal data: never put in state)."""
    known_names: tuple[str, ...] = ()
    business_words: frozenset[str] = frozenset()
    """Folded words of the business (its knowledge vocabulary and configured words)."""
    redactor: Redactor
    provider: Provider
    tools: ToolContext
    trace: TurnTrace
    output: TurnOutput
    alert: Callable[[str, dict[str, Any]], None] = lambda _kind, _detail: None
    """Operator alerts (invalid key, provider down)."""
