"""The shared folding and language detection (textnorm): one behaviour for every room."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textnorm import LANGUAGES, conversation_language, detect_language, fold

DATA = Path(__file__).parents[1] / "data"


def test_fold_strips_case_and_accents_and_spells_sharp_s_out() -> None:
    assert fold("Straße Ação Niño Öffnungszeiten") == "strasse acao nino offnungszeiten"
    assert fold("STRAẞE") == fold("Strasse") == "strasse"
    assert fold("Lucía José MÜLLER") == "lucia jose muller"
    assert fold("") == ""


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("¿Cuánto cuesta un corte de pelo para niños?", "es"),
        ("¿Cuál es el horario de la tienda?", "es"),
        ("Hola, ¿tienen cita para mañana por la tarde?", "es"),
        ("buenas quiero reservar", "es"),
        ("Quanto custa a revisão do carro? Não sei.", "pt"),
        ("Qual é o horário da loja? Vocês estão abertos?", "pt"),
        ("Olá, vocês têm horário para amanhã à tarde?", "pt"),
        ("oi tudo bem? queria marcar", "pt"),
        ("Wann haben Sie am Samstag geöffnet?", "de"),
        ("Wann haben Sie geöffnet und wo ist der Laden?", "de"),
        ("Guten Tag, haben Sie morgen einen Termin frei?", "de"),
        ("Was kosten neue Bremsen vorne?", "de"),
        ("Do you open on Sundays?", "en"),
        ("When are you open and where is the shop?", "en"),
        ("Hi, do you have an appointment tomorrow afternoon?", "en"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_no_signal_or_a_tie_gives_the_default() -> None:
    assert detect_language("12:30") == "en"
    assert detect_language("12:30", "pt") == "pt"
    assert detect_language("no", "es") == "es"  # "no" is Spanish and English alike
    assert detect_language("no", "de") == "es"  # a tie the default is not in: the first language


def test_the_committed_corpora_are_recognised() -> None:
    messages = [json.loads(line) for line in (DATA / "pii_corpus.jsonl").read_text().splitlines()]
    assert {m["lang"] for m in messages} == set(LANGUAGES)
    right = sum(detect_language(m["text"]) == m["lang"] for m in messages)
    assert right >= 0.98 * len(messages), right / len(messages)
    questions = json.loads((DATA / "kb_questions.json").read_text())
    wrong = [q["q"] for q in questions if detect_language(q["q"]) != q["kb"][-2:]]
    assert not wrong


def test_a_long_document_is_judged_by_its_start() -> None:
    german = "Wir haben am Samstag und Sonntag geöffnet. " * 1000
    assert detect_language(german + "the and is are you we " * 1000) == "de"


def test_a_short_message_keeps_the_conversations_language() -> None:
    assert conversation_language("ok", "es", "en") == "es"
    assert conversation_language("thanks!", "es", "en") == "es"
    assert conversation_language("gracias", None, "pt") == "es"
    assert conversation_language("Could you tell me when you are open on Saturday?", "es", "es") == "en"
    assert conversation_language("12:30", "de", "en") == "de"
    assert conversation_language("12:30", "fr", "en") == "en"  # an unknown previous language
