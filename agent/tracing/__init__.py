"""Tracing behind one interface: Langfuse in production, nothing by default."""

from agent.tracing.base import NoopTracer, NoopTurnTrace, Observation, Tracer, TurnInfo, TurnTrace
from agent.tracing.langfuse_tracer import LangfuseProject, LangfuseTracer, scrub, scrub_text

__all__ = [
    "LangfuseProject",
    "LangfuseTracer",
    "NoopTracer",
    "NoopTurnTrace",
    "Observation",
    "Tracer",
    "TurnInfo",
    "TurnTrace",
    "scrub",
    "scrub_text",
]
