"""An in-process scripted model (like pydantic-ai's ``FunctionModel``): no HTTP, no key.

Tests of the graph's nodes and routers use it to say exactly what "the model" answers, and
read back what it was asked. Each step of the script is a reply text, a :class:`Completion`,
an exception to raise, or a function of the call returning one of those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from agent.llm.base import Provider
from agent.llm.types import CallSettings, Completion, Message, ToolCall, ToolSpec, Usage


@dataclass(frozen=True)
class ScriptedCall:
    """One call the scripted model received."""

    messages: tuple[Message, ...]
    tools: tuple[str, ...]
    settings: CallSettings | None


Reply = str | Completion | BaseException
Step = Reply | Callable[[ScriptedCall], Reply]


def tool_use(name: str, call_id: str = "call-1", **arguments: object) -> Completion:
    """A completion asking for one tool."""
    return Completion(
        tool_calls=[ToolCall(id=call_id, name=name, arguments=dict(arguments))],
        stop_reason="tool_use",
        model=ScriptedProvider.model,
        provider=ScriptedProvider.name,
    )


@dataclass
class ScriptedProvider(Provider):
    """Answers each call with the next step of ``script``; the last step repeats."""

    name: ClassVar[str] = "scripted"
    model: str = "scripted"
    script: Sequence[Step] = ("OK",)
    calls: list[ScriptedCall] = field(default_factory=list[ScriptedCall])

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        if not self.script:
            raise ValueError("ScriptedProvider needs at least one step")
        call = ScriptedCall(tuple(messages), tuple(t.name for t in tools), settings)
        step = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append(call)
        reply = step(call) if callable(step) else step
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        return Completion(
            text=reply, model=self.model, provider=self.name, usage=Usage(input_tokens=10, output_tokens=5)
        )
