"""The vendor wire translators on their own: one neutral conversation, three wire shapes."""

from __future__ import annotations

from agent.llm.anthropic_provider import to_anthropic
from agent.llm.gemini_provider import to_gemini
from agent.llm.openai_provider import to_openai_messages, to_openai_tools
from agent.llm.types import (
    AssistantMessage,
    ContextMessage,
    ContextPassage,
    Message,
    SystemMessage,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

CALL = ToolCall(id="c1", name="search_knowledge", arguments={"query": "limpieza dental"})
CONVERSATION: list[Message] = [
    SystemMessage(text="Eres la recepcionista."),
    ContextMessage(passages=[ContextPassage(text="Limpieza: 45 €", source="tarifas.md", heading="Tarifas")]),
    UserMessage(text="¿Cuánto cuesta?"),
    AssistantMessage(text="Lo busco.", tool_calls=[CALL]),
    ToolResultMessage(tool_call_id="c1", name="search_knowledge", content="Limpieza: 45 €"),
    ToolResultMessage(tool_call_id="c2", name="business_hours", content="not configured", is_error=True),
]


def test_openai_keeps_roles_tool_calls_and_unicode() -> None:
    wire = to_openai_messages(CONVERSATION)
    assert [m["role"] for m in wire] == ["system", "user", "user", "assistant", "tool", "tool"]
    assert "tarifas.md" in wire[1]["content"] and "Limpieza: 45 €" in wire[1]["content"]
    call = wire[3]["tool_calls"][0]
    assert call["id"] == "c1" and call["function"]["arguments"] == '{"query": "limpieza dental"}'
    assert wire[4] == {"role": "tool", "tool_call_id": "c1", "content": "Limpieza: 45 €"}
    assert to_openai_messages([AssistantMessage(tool_calls=[CALL])])[0]["content"] is None
    spec = ToolSpec(name="t", description="d", parameters={"type": "object", "properties": {}})
    assert to_openai_tools([spec]) == [
        {"type": "function", "function": {"name": "t", "description": "d", "parameters": spec.parameters}}
    ]


def test_anthropic_lifts_the_system_prompt_and_merges_same_role_turns() -> None:
    system, turns = to_anthropic(CONVERSATION)
    assert system == "Eres la recepcionista."
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert [b["type"] for b in turns[0]["content"]] == ["text", "text"]
    assert turns[1]["content"][1] == {
        "type": "tool_use",
        "id": "c1",
        "name": "search_knowledge",
        "input": {"query": "limpieza dental"},
    }
    results = turns[2]["content"]
    assert [(b["tool_use_id"], b["is_error"]) for b in results] == [("c1", False), ("c2", True)]


def test_gemini_uses_model_role_and_function_parts() -> None:
    system, contents = to_gemini(CONVERSATION)
    assert system == "Eres la recepcionista."
    assert [c.role for c in contents] == ["user", "model", "user"]
    model_parts = contents[1].parts or []
    assert model_parts[0].text == "Lo busco."
    assert model_parts[1].function_call is not None and model_parts[1].function_call.args == CALL.arguments
    responses = [p.function_response for p in contents[2].parts or []]
    assert responses[0] is not None and responses[0].response == {"result": "Limpieza: 45 €"}
    assert responses[1] is not None and responses[1].response == {"error": "not configured"}
