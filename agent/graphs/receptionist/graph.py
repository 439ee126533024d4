"""The receptionist graph: one per process, run for every tenant with its own context."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.graphs.receptionist import nodes
from agent.graphs.receptionist.context import Context
from agent.graphs.receptionist.state import InputState, State
from agent.stages import stage


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
    builder.add_node("turn", _turn)
    builder.add_node("handoff", _staged("handoff", nodes.handoff))
    builder.add_node("await_human", _staged("handoff", nodes.await_human))
    builder.add_edge(START, "turn")
    builder.add_conditional_edges("turn", _inline(nodes.route_after_answer))
    builder.add_edge("handoff", "await_human")
    builder.add_edge("await_human", END)
    return builder.compile()


async def _turn(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """:func:`_intake`, then (unless it hands off) :func:`_answer`, in one superstep.

    The answer sees the state intake left, and the update is both merged (only ``guard``
    writes ``history``, the one field with a reducer); :func:`nodes.route_after_answer`
    routes a handoff either of them asked for. A superstep of LangGraph's own (tasks,
    channels, callbacks, a checkpoint) costs about a millisecond of CPU.
    """
    update = await _intake(state, runtime)
    view: Any = {**state, **update}
    if nodes.route_after_intake(view) == "answer":
        update.update(await _answer(view, runtime))
    return {key: value for key, value in update.items() if key not in TURN_ONLY}


TURN_ONLY = frozenset({"passages", "scratch", "tool_rounds", "citations"})
"""What the steps of a turn hand each other and nothing after the ``turn`` node reads: kept
out of the checkpoint. The passages and the model/tool exchange are most of a turn's state
by size; written, each was one more serialized blob row per turn (the trace has them)."""


async def _intake(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Redact, triage and, unless triage hands off, retrieve: three nodes in one superstep.

    Each step sees the state the steps before it left, as it would as a node of its own
    (they write only plain last-value fields, no reducers), and the update is theirs merged;
    a superstep of LangGraph's own costs more CPU than triage does.
    """
    update: dict[str, Any] = {}
    steps = (("redaction", nodes.redact), ("triage", nodes.triage), ("search", nodes.retrieve))
    for name, step in steps:
        view: Any = {**state, **update}
        if step is nodes.retrieve and nodes.route_after_triage(view) == "handoff":
            break
        with stage(name):
            update.update(step(view, runtime))
    return update


async def _answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """respond ⇄ tools, then guard: the model's side of the turn in one superstep.

    The steps run as the nodes they were, in the order their routers chose (respond, tools
    while the model calls them, guard), each seeing the state the steps before it left; a
    handoff any of them asks for ends the loop, and :func:`nodes.route_after_answer` takes
    the turn to the handoff node. A superstep of LangGraph's own costs more CPU than the
    routing it does.
    """
    update: dict[str, Any] = {}
    while True:
        view: Any = {**state, **update}
        with stage("model call and SDK"):
            update.update(await nodes.respond(view, runtime))
        view = {**state, **update}
        route = nodes.route_after_respond(view)
        if route == "handoff":
            return update
        if route == "guard":
            with stage("guard"):
                update.update(nodes.guard(view, runtime))
            return update
        with stage("tools"):
            update.update(nodes.tools(view, runtime))
        view = {**state, **update}
        if nodes.route_after_tools(view) == "handoff":
            return update


def _staged(name: str, node: Callable[..., Any]) -> Callable[..., Any]:
    """``node`` as a coroutine counted as stage ``name`` (:mod:`agent.stages`).

    LangGraph runs a plain function node or router of an async run in the loop's default
    executor, a thread hop each (and ``asyncio.run`` starts a new executor for every turn).
    A run has its thread and loop to itself, so running them inline blocks no other run.
    """
    if inspect.iscoroutinefunction(node):

        @wraps(node)
        async def run_async(state: State, runtime: Runtime[Context]) -> Any:
            with stage(name):
                return await node(state, runtime)

        return run_async

    @wraps(node)
    async def run(state: State, runtime: Runtime[Context]) -> Any:
        with stage(name):
            return node(state, runtime)

    return run


def _inline(router: Callable[[State], Any]) -> Callable[[State], Any]:
    """A router as a coroutine, run inline (see :func:`_staged`)."""

    @wraps(router)  # keeps its Literal[...] of destinations
    async def route(state: State) -> Any:
        return router(state)

    return route


def thread_id(tenant_id: int, conversation_id: int) -> str:
    """The checkpoint thread of one conversation of one tenant."""
    return f"{tenant_id}:{conversation_id}"
