"""The rules that hand a conversation to a person before any model is asked."""

from __future__ import annotations

import pytest

from agent.triage import asks_for_human, matching_keyword, triage


@pytest.mark.parametrize(
    "text",
    [
        "quiero hablar con una persona",
        "I want to talk to a human",
        "posso falar com um atendente?",
        "Ich möchte mit einem Mitarbeiter sprechen",
    ],
)
def test_an_ask_for_a_person_in_each_language_is_a_handoff(text: str) -> None:
    assert asks_for_human(text)
    assert triage(text, ()).reason


@pytest.mark.parametrize("text", ["¿Cuánto cuesta una limpieza?", "Do you open on Saturday?", "Obrigado!"])
def test_an_ordinary_question_is_not(text: str) -> None:
    assert triage(text, ()).reason is None


def test_tenant_keywords_match_without_case_or_accents() -> None:
    assert matching_keyword("Tengo una URGENCIA", ["urgencia"]) == "urgencia"
    assert matching_keyword("todo bien", ["urgencia"]) is None
    assert triage("es una urgencia", ["urgencia"]).rule
