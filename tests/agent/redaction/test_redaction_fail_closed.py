"""Recall first: identifier-shaped strings are redacted whatever their checksum; survivors stay."""

from __future__ import annotations

import pytest

from agent.redaction.redactor import RedactionContext, Redactor


@pytest.mark.parametrize(
    "value",
    [
        "123-45-6789",  # US SSN
        "12345678A",  # DNI with a wrong letter
        "X1234567A",  # NIE with a wrong letter
        "PAMN350409XX1",  # RFC with a wrong check character
        "529.982.247-24",  # CPF with wrong check digits
        "XDA123456",  # a passport
        "QQ 12 34 56 C",  # UK NINO
        "12 150385 M 01 2",  # German SV-Nummer
        "0176/12345678",  # German mobile with a slash
        "+52 1 55 1234 5678",  # Mexican mobile with the legacy 1
        "(212) 555-0147 ext. 23",  # fictional US range with an extension
        "4111 1111 1111 1112",  # card with a wrong Luhn digit
        "3530 1113 3330 0000",  # JCB
        "6304 0000 0000 0000 03",  # Maestro 18
    ],
)
def test_identifier_shapes_are_redacted_even_when_invalid(
    redactor: Redactor, ctx: RedactionContext, value: str
) -> None:
    red = redactor.redact(f"hola, el número es {value} gracias", ctx)
    assert value not in red.text
    for chunk in value.replace("(", " ").replace(")", " ").split():
        if sum(ch.isdigit() for ch in chunk) >= 2:
            assert chunk not in red.text, red.text
    assert red.text.endswith(" gracias")


@pytest.mark.parametrize(
    "text",
    [
        "mi fecha de nacimiento es 12/03/1985",
        "nací el 3 de mayo de 1990",
        "ich bin am 12.03.1985 geboren",
        "data de nascimento: 1985-03-12",
        "DOB: March 12, 1985",
    ],
)
def test_dates_of_birth_are_redacted(redactor: Redactor, ctx: RedactionContext, text: str) -> None:
    red = redactor.redact(text, ctx)
    assert "<DATE_OF_BIRTH_1>" in red.text
    assert "1985" not in red.text and "1990" not in red.text


@pytest.mark.parametrize(
    "text",
    [
        "tenéis hueco el 12/03/2027 a las 17:30?",
        "Termin am 14.06.2027 um 17 Uhr, kostet 45,00 €",
        "is my appointment on 03/15/2027 at 2:30pm still on? it was $120.50",
        "a consulta dura 1h30 e custa R$ 250,00",
    ],
)
def test_appointment_dates_times_and_prices_survive(
    redactor: Redactor, ctx: RedactionContext, text: str
) -> None:
    assert redactor.redact(text, ctx).text == text


def test_placeholder_never_cuts_into_a_token(redactor: Redactor, ctx: RedactionContext) -> None:
    red = redactor.redact("envíalo a Calle Mayor 5, 28013 Madrid", ctx)
    assert "013" not in red.text and "28013" not in red.text
