"""Each structured recognizer on the formats the issue names, and what must never be redacted."""

from __future__ import annotations

import pytest

from agent.redaction.recognizers import (
    IbanCodeRecognizer,
    NationalIdRecognizer,
    PaymentCardRecognizer,
    PhoneNumberRecognizer,
    card_brand,
    luhn_ok,
)
from agent.redaction.redactor import RedactionContext, Redactor


def covered(redactor: Redactor, ctx: RedactionContext, text: str, value: str) -> bool:
    spans, _ = redactor.find(text, ctx)
    start = text.index(value)
    return all(
        any(s.start <= i < s.end for s in spans)
        for i in range(start, start + len(value))
        if text[i].isalnum()
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("llámame al 612 345 678 mañana", "612 345 678"),  # ES national
        ("mi número es 91 123 45 67", "91 123 45 67"),  # ES fixed line
        ("ligue para 912 345 678", "912 345 678"),  # PT national
        ("meu celular é (11) 91234-5678", "(11) 91234-5678"),  # BR national
        ("mi cel 55 1234 5678 porfa", "55 1234 5678"),  # MX national
        ("Rufen Sie 030 12345678 an", "030 12345678"),  # DE national
        ("call me on (202) 555-0143 please", "(202) 555-0143"),  # US
        ("my mobile is 07911 123456", "07911 123456"),  # GB
        ("mi teléfono 011 4321-5678", "011 4321-5678"),  # AR
        ("llámame 301 234 5678", "301 234 5678"),  # CO
        ("appelez le 06 12 34 56 78", "06 12 34 56 78"),  # FR
        ("chiamami al 312 345 6789", "312 345 6789"),  # IT
        ("whatsapp +34 612 34 56 78 gracias", "+34 612 34 56 78"),
        ("tel 0049 30 12345678", "0049 30 12345678"),
        ("my number +447911123456", "+447911123456"),
    ],
)
def test_phone_numbers_national_and_international(
    redactor: Redactor, ctx: RedactionContext, text: str, value: str
) -> None:
    assert covered(redactor, ctx, text, value)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",  # Visa 16
        "4222222222222",  # Visa 13
        "4929 1234 5678 9012 344",  # placeholder; fixed below by Luhn
        "5555555555554444",  # Mastercard 5-series
        "2223003122003222",  # Mastercard 2-series
        "378282246310005",  # Amex
        "6759649826438453",  # Maestro
        "675964982643",  # Maestro 12 (fixed below)
    ],
)
def test_cards_by_brand_and_luhn(number: str) -> None:
    digits = number.replace(" ", "")
    if not luhn_ok(digits):  # make the synthetic ones valid by fixing the check digit
        digits = next(digits[:-1] + str(d) for d in range(10) if luhn_ok(digits[:-1] + str(d)))
    assert card_brand(digits) is not None
    spaced = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    for text in (f"tarjeta {digits} gracias", f"card {spaced}, thanks"):
        hits = PaymentCardRecognizer().analyze(text, [], None)
        assert len(hits) == 1


def test_card_with_bad_luhn_is_not_a_card() -> None:
    assert PaymentCardRecognizer().analyze("ref 4111111111111112", [], None) == []


def test_visa_19_digits() -> None:
    base = "411111111111111111"
    number = next(base + str(d) for d in range(10) if luhn_ok(base + str(d)))
    assert card_brand(number) == "visa"
    assert PaymentCardRecognizer().analyze(f"visa {number}", [], None)


@pytest.mark.parametrize(
    "text",
    [
        "mi IBAN es ES91 2100 0418 4502 0005 1332 mañana te pago",
        "IBAN ES9121000418450200051332 yesterday",
        "meine IBAN ist DE89 3704 0044 0532 0130 00 danke",
        "conta PT50 0002 0123 1234 5678 9015 4 obrigado",
        "iban gb29nwbk60161331926819 please",
    ],
)
def test_iban_followed_by_a_word(text: str) -> None:
    hits = IbanCodeRecognizer().analyze(text, [], None)
    assert len(hits) == 1
    found = text[hits[0].start : hits[0].end]
    assert found.split()[-1].isalnum() and not found.endswith((" mañana", " yesterday", " danke"))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CURP BOXW310820HNERXN09 gracias", "MX_CURP"),
        ("RFC GODE561231GR8 ok", "MX_RFC"),
        ("CPF 390.533.447-05 obrigado", "BR_CPF"),
        ("CPF 39053344705", "BR_CPF"),
        ("CNPJ 11.222.333/0001-81", "BR_CNPJ"),
        ("DNI 12345678Z por favor", "ES_NIF"),
        ("NIE X1234567L", "ES_NIE"),
        ("NIF 123456789 obrigado", "PT_NIF"),
        ("Steuer-ID 86095742719", "DE_TAX_ID"),
        ("Ausweis L01X00T44 bitte", "DE_ID_CARD"),
    ],
)
def test_national_ids_by_checksum(text: str, kind: str) -> None:
    hits = NationalIdRecognizer().analyze(text, [], None)
    assert [h.recognition_metadata["id_kind"] for h in hits if h.recognition_metadata] == [kind]


@pytest.mark.parametrize(
    "text", ["DNI 12345678A", "CPF 390.533.447-06", "NIE X1234567A", "CURP BOXW310820HNERXN08"]
)
def test_wrong_check_digit_is_not_an_id(text: str) -> None:
    assert NationalIdRecognizer().analyze(text, [], None) == []


def test_phone_recognizer_skips_dates_times_prices() -> None:
    text = "el 12/05/2025 a las 10:30, cuesta 1.250,00 € o 45,50€; 2025-05-12; 90 min; ref 12.05.2025"
    assert PhoneNumberRecognizer().analyze(text, [], None) == []


@pytest.mark.parametrize(
    "text",
    [
        "¿Tienen hueco el martes 14 de mayo a las 17:30 para un corte de pelo? ¿Cuánto cuesta, 25 €?",
        "Buenas tardes, quería cambiar la cita del viernes 3 de junio a las 10h. Gracias!",
        "Olá! Vocês têm horário na sexta-feira, dia 7 de março, às 16h30 para manicure? R$ 80?",
        "Guten Tag, haben Sie am Donnerstag, den 12. Juni um 9:15 Uhr Zeit für eine Massage? 60 Euro?",
        "Hi! Can I book a haircut on Tuesday 21 May at 11am? Is it still $40? It takes 45 minutes.",
        "Perfecto, nos vemos el Lunes. Saludos!",
        "Moin, Termin am Montag um 14 Uhr passt. Viele Grüße",
        "Olá, dá para fazer as unhas amanhã às 15h? Leva 1h.",
        "I'm running late, sorry! Be there at 4:15",
        "Ich bin leider krank und muss den Termin am Mittwoch absagen.",
    ],
)
def test_booking_messages_stay_intact(redactor: Redactor, ctx: RedactionContext, text: str) -> None:
    assert redactor.redact(text, ctx).text == text


def test_tenant_business_words_are_never_names(redactor: Redactor) -> None:
    from agent.redaction.vault import ConversationKey

    text = "Quiero el Corte Premium con Spa Deluxe el sábado"
    plain = RedactionContext(ConversationKey(1, 5))
    tenant = RedactionContext(ConversationKey(1, 5), business_words=("Corte Premium", "Spa Deluxe"))
    assert redactor.redact(text, tenant).text == text
    assert redactor.redact(text, plain).text != text  # without the tenant's words they look like names


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hola, me llamo lucía fernández y quería cita", "lucía fernández"),
        ("Oi, meu nome é João da Silva", "João da Silva"),
        ("Hallo, ich heiße Jürgen Weber", "Jürgen Weber"),
        ("hi my name is priya sharma", "priya sharma"),
        ("Guten Tag, hier ist Frau Schneider", "Schneider"),
        ("Buenas, soy Xiaoming, ¿hay hueco?", "Xiaoming"),
        ("Can Wei Zhang come on Friday?", "Wei Zhang"),
        ("reserva para vikram nair por favor", "vikram nair"),
    ],
)
def test_names_from_cues_gazetteer_and_capitals(
    redactor: Redactor, ctx: RedactionContext, text: str, name: str
) -> None:
    assert covered(redactor, ctx, text, name)


def test_known_names_from_profile_and_earlier_turns(redactor: Redactor) -> None:
    from agent.redaction.vault import ConversationKey

    ctx = RedactionContext(ConversationKey(1, 7), known_names=("Oriana Blasco",))
    assert covered(redactor, ctx, "oriana va a venir en mi lugar", "oriana")
    redactor.redact("me llamo zhiwei", ctx)  # learnt in turn 1
    assert covered(redactor, ctx, "zhiwei llega tarde", "zhiwei")


def test_class_names_do_not_shadow_presidio_recognizers() -> None:
    """Presidio's registry finds recognizer classes by name among all subclasses."""
    from presidio_analyzer.recognizer_registry.recognizers_loader_utils import RecognizerListLoader

    import agent.redaction.names
    import agent.redaction.recognizers

    for name in (
        "EmailRecognizer",
        "CreditCardRecognizer",
        "IbanRecognizer",
        "PhoneRecognizer",
        "SpacyRecognizer",
    ):
        assert RecognizerListLoader.get_existing_recognizer_cls(name).__module__.startswith(
            "presidio_analyzer"
        )
    ours = {
        c.__name__
        for m in (agent.redaction.names, agent.redaction.recognizers)
        for c in vars(m).values()
        if isinstance(c, type) and c.__name__.endswith("Recognizer") and c.__module__ == m.__name__
    }
    presidio = {
        c.__name__
        for c in RecognizerListLoader.get_all_existing_recognizers()
        if c.__module__.startswith("presidio_analyzer")
    }
    assert ours and not ours & presidio


def test_recognizers_are_hosted_in_a_presidio_analyzer(shared_redactor: Redactor) -> None:
    """The same recognizers answer through presidio's AnalyzerEngine (built offline, no download)."""
    results = shared_redactor.analyzer.analyze(
        "Mi DNI es 12345678Z y mi IBAN ES91 2100 0418 4502 0005 1332 gracias", language="en"
    )
    assert {r.entity_type for r in results} >= {"NATIONAL_ID", "IBAN_CODE"}
    assert not any(r.entity_type == "DATE_TIME" for r in results)


def test_german_nouns_before_a_name_stay(redactor: Redactor, ctx: RedactionContext) -> None:
    red = redactor.redact("Guten Tag, mein Mann Thomas Müller hat um 14:30 einen Termin", ctx)
    assert red.text == "Guten Tag, mein Mann <PERSON_1> hat um 14:30 einen Termin"
