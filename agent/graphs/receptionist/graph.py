"""The receptionist graph: one per process, run for every tenant with its own context."""

from __future__ import annotations

from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.graphs.receptionist import nodes
from agent.graphs.receptionist.context import Context
from agent.graphs.receptionist.state import InputState, State


def build_graph(checkpointer: Any = None) -> Any:
    """The graph with ``checkpointer`` keeping each conversation's redacted state.

    It is compiled once per process and copied with each run's checkpointer (compiling costs
    tens of milliseconds; a copy almost nothing).
    """
    graph = _compiled()
    return graph if checkpointer is None else graph.copy({"checkpointer": checkpointer})


@cache
def _compiled() -> Any:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("redact", nodes.redact)
    builder.add_node("triage", nodes.triage)
    builder.add_node("retrieve", nodes.retrieve)
    builder.add_node("respond", nodes.respond)
    builder.add_node("tools", nodes.tools)
    builder.add_node("guard", nodes.guard)
    builder.add_node("handoff", nodes.handoff)
    builder.add_node("await_human", nodes.await_human)
    builder.add_edge(START, "redact")
    builder.add_edge("redact", "triage")
    builder.add_conditional_edges("triage", nodes.route_after_triage)
    builder.add_edge("retrieve", "respond")
    builder.add_conditional_edges("respond", nodes.route_after_respond)
    builder.add_conditional_edges("tools", nodes.route_after_tools)
    builder.add_conditional_edges("guard", nodes.route_after_guard)
    builder.add_edge("handoff", "await_human")
    builder.add_edge("await_human", END)
    return builder.compile()


def thread_id(tenant_id: int, conversation_id: int) -> str:
    """The checkpoint thread of one conversation of one tenant."""
    return f"{tenant_id}:{conversation_id}"
