"""The held-out test set of the redaction bench covers what the issue lists (aggregate checks only)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from agent.redaction.evaluation import load_corpus

TESTSET = Path(__file__).parents[2] / "data" / "pii_testset.jsonl"


def test_testset_covers_eight_locales_every_family_and_negatives() -> None:
    records = load_corpus(TESTSET)
    assert {r["locale"] for r in records} == {
        "es_ES", "es_MX", "pt_BR", "pt_PT", "de_DE", "de_AT", "en_US", "en_GB",
    }  # fmt: skip
    types = Counter(s["type"] for r in records for s in r["spans"])
    for kind in ("PERSON", "STREET_ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE"):
        assert types[kind] >= 80, kind
    assert types["NATIONAL_ID"] >= 300 and types["DATE_OF_BIRTH"] >= 150
    kinds = {s.get("id_kind") for r in records for s in r["spans"]}
    assert {"US_SSN", "MX_RFC", "MX_CURP", "PASSPORT", "BR_CPF", "ES_DNI", "DE_SVNR", "UK_NINO"} <= kinds
    assert sum(r["pii_free"] for r in records) >= 600
    assert all(r["text"][s["start"] : s["end"]].strip() for r in records for s in r["spans"] + r["keep"])
