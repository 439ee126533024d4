"""Personal values never appear in logs, reprs or exception messages."""

from __future__ import annotations

import logging

import pytest

from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.vault import ConversationKey, InMemoryVault, SecretValue

VALUES = ("Lucía Fernández", "612 345 678", "lucia.fernandez@example.com", "ES91 2100 0418 4502 0005 1332")
TEXT = f"Hola, soy {VALUES[0]}, tel {VALUES[1]}, mail {VALUES[2]}, IBAN {VALUES[3]} gracias"


def _assert_clean(blob: str) -> None:
    for value in (*VALUES, "Lucía", "Fernández", "612345678", "lucia.fernandez", "2100 0418", "21000418"):
        assert value not in blob


def test_nothing_personal_in_logs_or_reprs(redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    ctx = RedactionContext(ConversationKey(1, 1), known_names=("Lucía Fernández",))
    with caplog.at_level(logging.DEBUG):
        red = redactor.redact(TEXT, ctx)
        restored = redactor.restore(red.text, ctx)
    assert restored.text.startswith("Hola, soy Lucía Fernández")
    _assert_clean(caplog.text)
    _assert_clean(repr(red) + str(red) + repr(ctx) + repr(redactor) + repr(redactor.vault))
    _assert_clean(repr(redactor.vault.items(ctx.conversation)))
    assert "x" not in repr(SecretValue("x")) + str(SecretValue("x")) and "***" in repr(SecretValue("x"))


def test_nothing_personal_in_exceptions() -> None:
    class BrokenVault(InMemoryVault):
        def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
            raise RuntimeError(f"vault down while assigning {entity_type}")

    redactor = Redactor(BrokenVault(), use_ner=False)
    with pytest.raises(RuntimeError) as info:
        redactor.redact(TEXT, RedactionContext(ConversationKey(1, 2)))
    _assert_clean(str(info.value) + repr(info.value))


def test_presidio_results_carry_no_value(redactor: Redactor) -> None:
    results, _ = redactor.analyze(TEXT)
    assert results
    _assert_clean(repr(results) + str([r.to_dict() for r in results]))
