"""Search terms for es/pt/de/en: accents, plurals, stemming, compounds, concepts."""

from __future__ import annotations

from knowledge.terms import analyze, query_terms
from textnorm import fold


def test_accents_and_plurals_meet() -> None:
    assert fold("Straße Ação Niño") == "strasse acao nino"
    assert analyze("Vacunación", "es").main[0] == analyze("vacunacion", "es").main[0]
    assert analyze("precios", "es").main[0] == analyze("precio", "es").main[0]
    assert analyze("Preise", "de").main[0] == analyze("Preis", "de").main[0]


def test_german_compounds_yield_their_parts() -> None:
    parts = analyze("Reifenwechsel", "de").parts
    assert set(query_terms("Reifen", ["de"])) & set(parts)
    assert set(query_terms("Wechsel", ["de"])) & set(parts)


def test_paraphrases_share_a_concept_term() -> None:
    assert "zzprice" in query_terms("¿Cuánto cuesta?", ["es"])
    assert "zzprice" in analyze("Precios", "es").main
    assert "zzhours" in query_terms("Wann haben Sie geöffnet?", ["de"])
    assert "zzhours" in analyze("Öffnungszeiten", "de").main
