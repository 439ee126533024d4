"""What a tool sees: only its own tenant, through callables bound to that tenant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agent.llm.types import ContextPassage, ToolResultMessage
from agent.tenant import TenantProfile

SearchFn = Callable[[str, int], list[ContextPassage]]
"""``search(query, k)`` over the tenant's own knowledge base."""


@dataclass(frozen=True)
class ToolContext:
    """The tenant-bound capabilities a tool may use."""

    tenant_id: int
    profile: TenantProfile
    search: SearchFn
    now: Callable[[], datetime]


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's result for the model, and whether it asks for a human."""

    message: ToolResultMessage
    handoff_reason: str | None = None
