"""The receptionist's tools: their specs for the model and how each one runs."""

from __future__ import annotations

from agent.llm.types import ContextPassage, ToolCall, ToolResultMessage, ToolSpec
from agent.tools.base import ToolContext, ToolOutcome
from agent.tools.hours import HOURS_QUERY, NOT_CONFIGURED, describe_hours

SEARCH_KNOWLEDGE = ToolSpec(
    name="search_knowledge",
    description="Search the business's own knowledge base (services, prices, policies, hours).",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look up, in the customer's words."}
        },
        "required": ["query"],
    },
)
REQUEST_HUMAN = ToolSpec(
    name="request_human",
    description="Hand the conversation to a human member of staff. Use when you cannot help or the customer asks.",
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why a person is needed."}},
        "required": ["reason"],
    },
)
BUSINESS_HOURS = ToolSpec(
    name="business_hours",
    description="Whether the business is open now, its weekly opening hours and holidays.",
    parameters={"type": "object", "properties": {}},
)
TOOLS = (SEARCH_KNOWLEDGE, REQUEST_HUMAN, BUSINESS_HOURS)


def format_passages(passages: list[ContextPassage]) -> str:
    if not passages:
        return "No passage of the knowledge base matches."
    return "\n\n".join(
        f"[{i}] {p.source}{' > ' + p.heading if p.heading else ''}\n{p.text}"
        for i, p in enumerate(passages, 1)
    )


def run_tool(call: ToolCall, context: ToolContext, language: str = "en") -> ToolOutcome:
    """Run one tool call for the context's tenant; unknown tools and bad arguments are errors for the model."""

    def result(
        content: str, *, error: bool = False, passages: list[ContextPassage] | None = None
    ) -> ToolResultMessage:
        return ToolResultMessage(
            tool_call_id=call.id, name=call.name, content=content, is_error=error, passages=passages or []
        )

    if call.name == SEARCH_KNOWLEDGE.name:
        query = call.arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            return ToolOutcome(result("search_knowledge needs a non-empty 'query' string.", error=True))
        passages = context.search(query[:500], 3)
        return ToolOutcome(result(format_passages(passages), passages=passages))
    if call.name == BUSINESS_HOURS.name:
        if not context.profile.hours_configured:  # unknown, not "closed": the knowledge base may say
            passages = context.search(HOURS_QUERY.get(language, HOURS_QUERY["en"]), 3)
            content = NOT_CONFIGURED + "\n\n" + format_passages(passages)
            return ToolOutcome(result(content, error=True, passages=passages))
        return ToolOutcome(result(describe_hours(context.profile, context.now(), language)))
    if call.name == REQUEST_HUMAN.name:
        reason = str(call.arguments.get("reason") or "the assistant asked for a person")[:200]
        return ToolOutcome(result("A human has been asked to join."), handoff_reason=reason)
    return ToolOutcome(result(f"Unknown tool {call.name!r}.", error=True))
