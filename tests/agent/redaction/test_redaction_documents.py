"""Identity-document numbers fail closed: any case, grouping or typo (cases written here)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.redaction.identifiers import DocumentNumberRecognizer
from agent.redaction.redactor import RedactionContext, Redactor


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # German identity card: ICAO letters + check digit, with and without the "D", any grouping
        ("Ausweisnummer T22000129 3", "T22000129 3"),
        ("Personalausweis: LFKTXWRMG7D", "LFKTXWRMG7D"),  # few digits, wrong check digit
        ("meine Perso-Nr ist l01x00t47", "l01x00t47"),
        ("Ausweis L5L 8N5 1NK 9 bitte", "L5L 8N5 1NK 9"),
        ("GVNCFMNWM 8D", "GVNCFMNWM 8D"),
        ("Ausweis zgg kfl cl4 2 bitte notieren", "zgg kfl cl4 2"),
        # Spanish DNI / NIE: separators, lower case, wrong letter, letter apart
        ("dni 12345678 z gracias", "12345678 z"),
        ("mi DNI es 12.345.678-A", "12.345.678-A"),
        ("nie x-1234567-l porfa", "x-1234567-l"),
        ("NIE X03 960 03H", "X03 960 03H"),
        ("documento 1234567-L", "1234567-L"),
        ("DNI 12345678–Z", "12345678–Z"),  # an en dash
        ("dni 12345678_z", "12345678_z"),
        ("DNI: 12345678, letra Z", "12345678, letra Z"),
        # passports
        ("mi pasaporte es AAB 210 918", "AAB 210 918"),
        ("passport no. c01x00t47, expires 2030", "c01x00t47"),
        ("Reisepass Nr. C59 K8J JFR", "C59 K8J JFR"),
        ("passaporte FZ 123456", "FZ 123456"),
        ("my passport number is 123456789GBR", "123456789GBR"),
        ("Passnummer: mWGGV 2LKM2", "mWGGV 2LKM2"),
    ],
)
def test_document_numbers_are_redacted(leaked: Callable[[str, str], str], text: str, value: str) -> None:
    assert leaked(text, value) == ""


@pytest.mark.parametrize(
    "text",
    [
        "pass 2 people through please",
        "ich war nie 2020 dort",
        "ID card at the desk at 14:30",
        "DNI o pasaporte, lo que tengas",
    ],
)
def test_document_cue_without_a_number_redacts_nothing(text: str) -> None:
    assert DocumentNumberRecognizer().analyze(text, []) == []


@pytest.mark.parametrize(
    ("text", "keep"),
    [
        ("quiero 2x 250ml del champú", "250ml"),
        ("room 12B at 3pm", "3pm"),
        ("Termin um 14:30, Raum 2B", "14:30"),
        ("a 2ª sessão dura 90 min", "90 min"),
        ("llego a las 18h", "18h"),
    ],
)
def test_quantities_and_times_stay(redactor: Redactor, ctx: RedactionContext, text: str, keep: str) -> None:
    spans, _ = redactor.find(text, ctx)
    start = text.index(keep)
    assert not any(s.start < start + len(keep) and start < s.end for s in spans)
