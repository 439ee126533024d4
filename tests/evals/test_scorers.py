"""Each deterministic scorer passes the good case and fails the bad one, saying why."""

import pytest

from evals.scenarios import Expect, Window
from evals.scorers import TurnRecord, check_canaries, check_pii, check_turns, find_values
from evals.window import check_window

GOOD = TurnRecord(
    customer=["¿Cuánto cuesta una limpieza?"],
    reply="¡Hola! Soy el asistente de IA de Clínica Sonrisa.\n\nLa limpieza dental cuesta 45 €.",
    citations=["clinica.md > Tarifas"],
    language="es",
    tools=["search_knowledge"],
    model_calls=2,
)


def failed(checks):
    return [c for c in checks if not c.passed]


@pytest.mark.parametrize(
    "expect",
    [
        Expect(contains=["45 €"]),
        Expect(contains_any=["99 €", "45 €"]),
        Expect(not_contains=["250 €"]),
        Expect(handoff=False),
        Expect(cites=True),
        Expect(cites=["Tarifas"]),
        Expect(tools=["search_knowledge"]),
        Expect(no_tools=["request_human"]),
        Expect(language="es"),
        Expect(blocked=False),
    ],
)
def test_each_check_passes_on_a_good_turn(expect):
    checks = check_turns(expect, [GOOD], "turn 1")
    assert checks and not failed(checks)


@pytest.mark.parametrize(
    ("expect", "why"),
    [
        (Expect(contains=["60 €"]), "not in the reply"),
        (Expect(contains_any=["60 €", "250 €"]), "none in the reply"),
        (Expect(not_contains=["45 €"]), "found in the reply"),
        (Expect(handoff=True), "handoff=False"),
        (Expect(cites=False), "citations"),
        (Expect(cites=["Horario"]), "missing ['Horario']"),
        (Expect(tools=["business_hours"]), "called: ['search_knowledge']"),
        (Expect(no_tools=["search_knowledge"]), "called"),
        (Expect(no_tools=["*"]), "2 model call(s)"),
        (Expect(language="pt"), "turn language es"),
        (Expect(blocked=True), "nothing blocked"),
    ],
)
def test_each_check_fails_on_a_bad_turn_and_says_why(expect, why):
    bad = failed(check_turns(expect, [GOOD], "turn 1"))
    assert len(bad) == 1 and why in bad[0].detail and bad[0].name.startswith("turn 1: ")


def test_language_check_reads_the_reply_itself():
    english_reply = TurnRecord(
        customer=["hola"], reply="The cleaning costs 45 euros, see you soon.", language="es"
    )
    (check,) = check_turns(Expect(language="es"), [english_reply], "turn 1")
    assert not check.passed and "reads as en" in check.detail


def test_conversation_level_checks_span_all_turns():
    handoff = TurnRecord(
        customer=["quiero una persona"],
        reply="Te paso con una persona.",
        handoff=True,
        handoff_reason="asked",
    )
    checks = check_turns(Expect(handoff=True, contains=["45 €", "persona"]), [GOOD, handoff], "conversation")
    assert not failed(checks)


def test_pii_scan_finds_planted_values_in_any_form():
    planted = ["María García", "612 345 678", "maria.garcia@example.com", "12345678Z"]
    assert find_values(planted, "call me at 612345678") == ["612 345 678"]  # separators dropped
    assert find_values(planted, '{"text": "Mar\\u00eda Garc\\u00eda"}') == ["María García"]  # JSON-escaped
    assert find_values(planted, "MARIA.GARCIA@EXAMPLE.COM") == ["maria.garcia@example.com"]
    assert find_values(planted, "<PERSON_1> <PHONE_NUMBER_1> <NATIONAL_ID_1>") == []


def test_pii_scorer_fails_on_a_planted_phone_and_never_prints_it():
    checks = check_pii(
        ["612 345 678"],
        {"provider requests": '{"content": "llamadme al 612 345 678"}', "trace": "<PHONE_NUMBER_1>"},
    )
    by_surface = {c.name: c for c in checks}
    assert not by_surface["no personal data in provider requests"].passed
    assert by_surface["no personal data in trace"].passed
    assert "612 345 678" not in by_surface["no personal data in provider requests"].detail
    assert "6*********8" in by_surface["no personal data in provider requests"].detail


def test_canary_scorer():
    checks = check_canaries(
        ["ZEBRA-4471"], {"replies": "use code zebra-4471!", "provider requests": "nothing"}
    )
    assert [c.passed for c in checks] == [False, True]
    assert "ZEBRA-4471" in checks[0].detail


TEMPLATES = [
    {"name": "follow_up_en", "language": "en", "purposes": ["reply"]},
    {"name": "seguimiento_es", "language": "es", "purposes": ["reply"]},
    {"name": "traspaso_es", "language": "es", "purposes": ["handoff"]},
]
WA_ID = "34611122233"
GERMAN = TurnRecord(
    customer=["Was kostet das?"], reply="Die Behandlung kostet 45 Euro pro Sitzung.", language="de"
)
HANDOFF = TurnRecord(
    customer=["Quiero hablar con una persona"],
    reply="Te paso con una persona de nuestro equipo, te escribirá en breve.",
    handoff=True,
    handoff_reason="asked for a person",
    language="es",
)


def test_window_checks_drive_the_sender_against_the_fake_cloud_api():
    late = Window(
        hours_after=26, templates=TEMPLATES, expect_action="send_template", expect_template="seguimiento_es"
    )
    checks = check_window(late, GOOD, "es", WA_ID)
    assert not failed(checks)
    assert "send_template: template seguimiento_es" in checks[0].detail  # what reached the Cloud API
    # a German customer gets the tenant's default-language template: the Spanish one, not English
    assert not failed(check_window(late, GERMAN, "es", WA_ID))
    bad = failed(check_window(late, GERMAN, "en", WA_ID))
    assert [c.name for c in bad] == ["window: template seguimiento_es"] and "follow_up_en" in bad[0].detail
    inside = Window(hours_after=2, expect_action="send_text")
    names = [c.name for c in check_window(inside, GOOD, "es", WA_ID)]
    assert "window: the reply went out as plain text" in names and not failed(
        check_window(inside, GOOD, "es", WA_ID)
    )
    wrong = Window(hours_after=30, expect_action="send_text")
    bad = failed(check_window(wrong, GOOD, "es", WA_ID))
    assert [c.name for c in bad] == [
        "window: send_text after 30 h",
        "window: the reply went out as plain text",
    ]
    assert "handoff: nothing sent" in bad[0].detail and "conversation human" in bad[0].detail


def test_window_checks_a_handoff_notice_and_an_opt_out():
    notice = Window(
        hours_after=48,
        purpose="handoff",
        templates=TEMPLATES,
        expect_action="send_template",
        expect_template="traspaso_es",
    )
    assert not failed(check_window(notice, HANDOFF, "es", WA_ID))  # the sender picks the handoff template
    assert not failed(check_window(Window(hours_after=30, expect_action="handoff"), GOOD, "es", WA_ID))
    stop = Window(hours_after=1, opted_out=True, expect_action="suppress")
    checks = check_window(stop, GOOD, "es", WA_ID)
    assert not failed(checks) and "nothing sent; outbox cancelled" in checks[0].detail
    assert failed(check_window(Window(hours_after=1, expect_action="suppress"), GOOD, "es", WA_ID))
    assert [c.detail for c in check_window(stop, TurnRecord(customer=["x"]), "es", WA_ID)] == [
        "no reply to send"
    ]
