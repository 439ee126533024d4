"""Each deterministic scorer passes the good case and fails the bad one, saying why."""

from datetime import UTC, datetime

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


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TEMPLATES = [
    {"name": "follow_up_en", "language": "en", "purposes": ["reply"]},
    {"name": "seguimiento_es", "language": "es", "purposes": ["reply"]},
]


def test_window_checks():
    late = Window(
        hours_after=26, templates=TEMPLATES, expect_action="send_template", expect_template="seguimiento_es"
    )
    assert not failed(check_window(late, "es", "es", NOW))
    # the German customer gets the tenant's default-language template, not the Spanish one expected
    bad = failed(check_window(late, "de", "en", NOW))
    assert [c.name for c in bad] == ["window: template seguimiento_es"] and "follow_up_en" in bad[0].detail
    inside = Window(hours_after=2, expect_action="send_text")
    assert not failed(check_window(inside, "es", "es", NOW))
    wrong = Window(hours_after=30, expect_action="send_text")
    names = [c.name for c in failed(check_window(wrong, "es", "es", NOW))]
    assert names == ["window: send_text after 30 h"]  # the policy itself still refuses free text
    assert not failed(check_window(Window(hours_after=30, expect_action="handoff"), "pt", "pt", NOW))
