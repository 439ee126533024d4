"""Leak rate per type and over-redaction on the committed multilingual corpus (tests/data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.redaction.evaluation import Score, load_corpus, score
from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.vault import ConversationKey

CORPUS = Path(__file__).parents[2] / "data" / "pii_corpus.jsonl"
STRUCTURED = ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "NATIONAL_ID")
# The tenant's own words (services and brands of the corpus' salon), as a tenant would configure.
BUSINESS_WORDS = (
    "Corte Premium",
    "Spa Deluxe",
    "Glow Facial",
    "Express Nails",
    "Kerastase Ritual",
    "Beauty Lounge",
)


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def result(shared_redactor: Redactor, corpus: list[dict[str, Any]]) -> Score:
    def predict(record: dict[str, Any]) -> list[tuple[int, int]]:
        ctx = RedactionContext(
            ConversationKey(9, 10_000 + record["id"]),
            known_names=tuple(record["known_names"]),
            business_words=BUSINESS_WORDS,
        )
        return [(e.start, e.end) for e in shared_redactor.redact(record["text"], ctx).entities]

    return score(corpus, predict)


def test_corpus_is_multilingual_and_large_enough(corpus: list[dict[str, Any]]) -> None:
    langs = {r["lang"] for r in corpus}
    assert langs == {"es", "pt", "de", "en"}
    assert sum(r["pii_free"] for r in corpus) >= 400
    lower = [
        s for r in corpus for s in r["spans"] if s["type"] == "PERSON" and s["origin"].endswith("/lower")
    ]
    assert len(lower) >= 50


@pytest.mark.parametrize("entity_type", STRUCTURED)
def test_structured_identifiers_leak_at_most_1_percent(result: Score, entity_type: str) -> None:
    assert result.gold[entity_type] >= 80
    assert result.leak_rate(entity_type) <= 0.01, result.table()["leak"][entity_type]


def test_names_leak_at_most_5_percent(result: Score) -> None:
    assert result.gold["PERSON"] >= 500
    assert result.leak_rate("PERSON") <= 0.05, result.table()["leak"]["PERSON"]


def test_street_addresses_leak_at_most_10_percent(result: Score) -> None:
    assert result.leak_rate("STREET_ADDRESS") <= 0.10, result.table()["leak"]["STREET_ADDRESS"]


def test_pii_free_messages_keep_dates_times_prices_services(result: Score) -> None:
    assert result.pii_free >= 400
    assert result.over_redaction <= 0.05, result.table()


def test_leak_definition_counts_partial_cover_as_leak() -> None:
    record = {
        "id": 0,
        "text": "soy Ana Pérez",
        "spans": [{"type": "PERSON", "start": 4, "end": 13}],
        "keep": [],
        "pii_free": False,
    }
    assert score([record], lambda r: [(4, 7)]).leaked["PERSON"] == 1
    assert score([record], lambda r: [(4, 13)]).leaked["PERSON"] == 0
