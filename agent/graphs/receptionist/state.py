"""The receptionist's checkpointed state. Only redacted text ever lives here."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class InputState(TypedDict):
    """What starts a turn: only its id (the customer's raw text travels in the context)."""

    turn_id: str


class State(InputState, total=False):
    """Everything the graph remembers about a conversation, redacted."""

    history: Annotated[list[dict[str, Any]], operator.add]
    """Redacted user and assistant messages of past turns (agent.llm message dicts)."""
    turn_text: str
    """This turn's customer messages, redacted and joined."""
    language: str
    passages: list[dict[str, Any]]
    """Knowledge passages retrieved for this turn."""
    scratch: list[dict[str, Any]]
    """The model/tool exchange of this turn."""
    tool_rounds: int
    handoff_reason: str | None
    handoff_rule: str | None
    misses: int
    """Turns in a row without a knowledge hit."""
    disclosed: bool
    """Whether the AI disclosure was already sent in this conversation."""
    reply: str | None
    """This turn's approved reply, redacted."""
    citations: list[str]
    handoff: bool
    handoff_at: str | None
    usage: dict[str, float]
