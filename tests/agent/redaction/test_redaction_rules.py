"""A tenant's own rules: validated Presidio patterns, deny and allow lists, predefined recognizers."""

from __future__ import annotations

import inspect

import pytest
from presidio_analyzer import PatternRecognizer
from presidio_analyzer import predefined_recognizers as presidio_predefined

from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.rules import (
    PRESIDIO_RECOGNIZERS,
    RedactionRules,
    RuleError,
    add_pattern,
    change_list,
    check_regex,
    compile_rules,
)
from agent.redaction.vault import ConversationKey

RULES = {
    "patterns": [{"name": "historia clinica", "regex": r"HC-\d{5}", "entity": "PATIENT_ID", "score": 0.9}],
    "deny": ["Quetzalli"],
    "allow": ["Rosa Mosqueta"],
    "enabled": ["UrlRecognizer"],
}


@pytest.mark.parametrize(
    ("regex", "why"),
    [
        ("(", "does not compile"),
        ("a*", "empty"),
        (r"(\d+)+x", "catastrophic"),
        ("(a|b*)*", "catastrophic"),
        ("", "1 to 500"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(regex: str, why: str) -> None:
    with pytest.raises(RuleError, match=why):
        check_regex(regex)
    with pytest.raises(RuleError):
        add_pattern(RedactionRules(), "x", regex, "PATIENT_ID", 0.8)


def test_entity_names_and_recognizer_names_are_checked() -> None:
    with pytest.raises(RuleError, match="entity"):
        add_pattern(RedactionRules(), "x", r"P\d{4}", "patient id", 0.8)
    with pytest.raises(RuleError, match="unknown Presidio recognizer"):
        change_list(RedactionRules(), "enabled", ["NoSuchRecognizer"])


def test_the_predefined_list_is_presidios_own() -> None:
    installed = sorted(
        name
        for name in dir(presidio_predefined)
        if name.endswith("Recognizer")
        and inspect.isclass(getattr(presidio_predefined, name))
        and issubclass(getattr(presidio_predefined, name), PatternRecognizer)
    )
    assert list(PRESIDIO_RECOGNIZERS) == installed


def test_rules_run_on_the_hot_path_and_are_compiled_once(redactor: Redactor) -> None:
    compiled = compile_rules(dict(RULES))
    assert compile_rules(dict(RULES)) is compiled  # cached per distinct rule set
    ctx = RedactionContext(ConversationKey(3, 1), rules=compiled)
    text = "Hola, soy paciente HC-48213, me atendió Quetzalli. ¿Tenéis Rosa Mosqueta? Ver https://www.clinica-sol.com/promo"
    red = redactor.redact(text, ctx)
    assert "HC-48213" not in red.text and "<PATIENT_ID_1>" in red.text
    assert "Quetzalli" not in red.text
    assert "Rosa Mosqueta" in red.text
    assert "clinica-sol.com" not in red.text
    plain = redactor.redact(text, RedactionContext(ConversationKey(3, 2)))
    assert "HC-48213" in plain.text  # without the tenant's pattern the number is short of an id


def test_stored_rules_that_no_longer_validate_are_skipped() -> None:
    broken = {"patterns": [{"name": "x", "regex": "(a+)+", "entity": "X_ID"}]}
    assert compile_rules(broken).recognizers == ()
