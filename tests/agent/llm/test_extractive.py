"""The extractive provider: answers, clarifying question, handoff; deterministic; es/pt/de/en."""

from __future__ import annotations

import pytest

from agent.llm.extractive import ExtractiveProvider
from agent.llm.factory import build_provider
from agent.llm.types import (
    AssistantMessage,
    ContextMessage,
    ContextPassage,
    Message,
    ProviderSettings,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

PASSAGES = [
    ContextPassage(
        text="We are open Monday to Friday from 9:00 to 18:00. On Saturdays we open from 10:00 to 14:00. "
        "We are closed on Sundays.",
        source="faq.md",
        heading="Opening hours",
    ),
    ContextPassage(
        text="Delivery takes 2-3 business days. Shipping is free for orders over 50 euros. "
        "Returns are accepted within 30 days.",
        source="faq.md",
        heading="Shipping",
    ),
    ContextPassage(
        text="Los pagos se pueden hacer con tarjeta de crédito o transferencia bancaria. "
        "No aceptamos efectivo.",
        source="pagos.md",
        heading="Formas de pago",
    ),
    ContextPassage(
        text="Oferecemos estacionamento gratuito para clientes. O estacionamento fica atrás da loja.",
        source="loja.md",
        heading="Estacionamento",
    ),
    ContextPassage(
        text="Die Rückgabe ist innerhalb von 30 Tagen möglich. "
        "Bitte senden Sie die Ware originalverpackt zurück.",
        source="de.md",
        heading="Rückgabe",
    ),
]
TOOLS = [
    ToolSpec(
        name="search_knowledge", parameters={"type": "object", "properties": {"query": {"type": "string"}}}
    ),
    ToolSpec(
        name="request_human", parameters={"type": "object", "properties": {"reason": {"type": "string"}}}
    ),
    ToolSpec(name="business_hours"),
]


def ask(question: str, passages: list[ContextPassage] | None = None) -> list[Message]:
    return [
        UserMessage(text=question),
        ContextMessage(passages=passages if passages is not None else PASSAGES),
    ]


@pytest.mark.parametrize(
    ("question", "expected", "heading"),
    [
        ("How long does delivery take?", "Delivery takes 2-3 business days.", "Shipping"),
        ("¿Aceptan pago con tarjeta de crédito?", "Los pagos se pueden hacer con tarjeta", "Formas de pago"),
        ("Vocês têm estacionamento para clientes?", "Oferecemos estacionamento gratuito", "Estacionamento"),
        ("Wie funktioniert die Rückgabe?", "Die Rückgabe ist innerhalb von 30 Tagen möglich.", "Rückgabe"),
        ("Are you open on saturdays?", "On Saturdays we open from 10:00 to 14:00.", "Opening hours"),
    ],
)
async def test_answers_with_the_sentences_of_the_best_passage(
    question: str, expected: str, heading: str
) -> None:
    provider = ExtractiveProvider()
    outcome, result = provider.decide(ask(question))
    assert outcome == "answer"
    assert result.text.startswith(expected)
    assert result.citations[0].heading == heading
    assert result.tool_calls == [] and result.stop_reason == "end_turn"
    assert result.cost_usd == 0.0
    assert len(result.text) < sum(len(p.text) for p in PASSAGES if p.heading == heading) + 1
    assert (await provider.complete(ask(question))) == result


async def test_trims_to_the_sentences_that_answer() -> None:
    _, result = ExtractiveProvider().decide(ask("Is shipping free?"))
    assert result.text == "Shipping is free for orders over 50 euros."


async def test_partial_match_asks_one_clarifying_question_then_hands_off() -> None:
    provider = ExtractiveProvider()
    question = "Do you ship to Portugal by express courier?"
    outcome, first = provider.decide(ask(question))
    assert outcome == "clarify"
    assert first.text.endswith("?") and '"Shipping"' in first.text
    history = [*ask(question), first.as_message(), UserMessage(text="courier to Lisbon, urgently")]
    outcome, second = provider.decide(history)
    assert outcome == "handoff"
    assert second.tool_calls[0].name == "request_human"


async def test_clarifying_question_is_in_the_customers_language() -> None:
    outcome, result = ExtractiveProvider().decide(ask("¿Aceptan pagos en bitcoin, dólares o cheques?"))
    assert outcome == "clarify"
    assert result.text.startswith("Para ayudarte mejor")


async def test_no_passage_fits_requests_a_human() -> None:
    outcome, result = ExtractiveProvider().decide(ask("Can I bring my dog to the dentist appointment?"))
    assert outcome == "handoff"
    [call] = result.tool_calls
    assert call.name == "request_human" and "no knowledge passage" in call.arguments["reason"]
    assert result.stop_reason == "tool_use"


@pytest.mark.parametrize(
    "question",
    [
        "I want to talk to a human",
        "quiero hablar con una persona",
        "posso falar com um atendente?",
        "Ich möchte mit einem Mitarbeiter sprechen",
    ],
)
async def test_explicit_request_for_a_person_hands_off(question: str) -> None:
    outcome, result = ExtractiveProvider().decide(ask(question))
    assert outcome == "handoff"
    assert result.tool_calls[0].arguments == {"reason": "the customer asked for a person"}


async def test_calls_search_knowledge_when_offered_and_reads_its_passages() -> None:
    provider = ExtractiveProvider()
    history: list[Message] = [UserMessage(text="Is shipping free?")]
    outcome, first = provider.decide(history, TOOLS)
    assert outcome == "search"
    [call] = first.tool_calls
    assert call.name == "search_knowledge" and call.arguments == {"query": "Is shipping free?"}
    history += [
        first.as_message(),
        ToolResultMessage(
            tool_call_id=call.id, name=call.name, content="[2 passages]", passages=PASSAGES[:2]
        ),
    ]
    outcome, second = provider.decide(history, TOOLS)
    assert outcome == "answer" and second.text == "Shipping is free for orders over 50 euros."


async def test_search_that_finds_nothing_hands_off_instead_of_searching_again() -> None:
    provider = ExtractiveProvider()
    history: list[Message] = [UserMessage(text="Do you sell parrots?")]
    _, first = provider.decide(history, TOOLS)
    call = first.tool_calls[0]
    history += [first.as_message(), ToolResultMessage(tool_call_id=call.id, name=call.name, content="[]")]
    outcome, _ = provider.decide(history, TOOLS)
    assert outcome == "handoff"


async def test_uses_business_hours_tool_for_hours_questions() -> None:
    provider = ExtractiveProvider()
    history: list[Message] = [UserMessage(text="¿A qué hora abren hoy?")]
    outcome, first = provider.decide(history, TOOLS)
    assert outcome == "hours" and first.tool_calls[0].name == "business_hours"
    history += [
        first.as_message(),
        ToolResultMessage(
            tool_call_id=first.tool_calls[0].id, name="business_hours", content="Hoy: 9:00-18:00"
        ),
    ]
    outcome, second = provider.decide(history, TOOLS)
    assert outcome == "answer" and second.text == "Hoy: 9:00-18:00"


async def test_greeting_gets_a_question_back() -> None:
    outcome, result = ExtractiveProvider().decide(ask("hola"))
    assert outcome == "clarify" and result.text == "¡Hola! ¿En qué puedo ayudarte?"


async def test_previous_answered_turns_do_not_leak_into_the_current_one() -> None:
    history: list[Message] = [
        *ask("Is shipping free?"),
        AssistantMessage(text="Shipping is free for orders over 50 euros."),
        UserMessage(text="And do you accept cash?"),
    ]
    outcome, _ = ExtractiveProvider().decide(history)
    assert outcome == "handoff"  # no passages were retrieved for this turn


def test_deterministic_and_built_from_settings() -> None:
    provider = build_provider(ProviderSettings(), None)
    assert isinstance(provider, ExtractiveProvider)
    runs = {
        provider.decide(ask("Do you ship to Portugal by express courier?"))[1].model_dump_json()
        for _ in range(5)
    }
    assert len(runs) == 1
    a = provider.decide([UserMessage(text="Do you sell parrots?")], TOOLS)[1]
    b = provider.decide([UserMessage(text="Do you sell parrots?")], TOOLS)[1]
    assert a.tool_calls[0].id == b.tool_calls[0].id
