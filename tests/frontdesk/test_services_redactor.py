"""The composition root loads spaCy's pipeline only when NER is configured."""

from __future__ import annotations

from typing import Any

import pytest

from agent.redaction import redactor as redactor_module
from frontdesk import services
from frontdesk.settings import Settings


class _NoDb:
    """SqlVault only keeps its database until a turn uses it."""


def test_redactor_without_ner_never_loads_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> Any:
        raise AssertionError("spaCy pipeline loaded although NER is off")

    monkeypatch.setattr(redactor_module, "load_ner_pipeline", refuse)
    redactor = services.redactor(Settings(), _NoDb())  # type: ignore[arg-type]
    assert not redactor.use_ner


def test_redactor_with_ner_configured_uses_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[object] = []

    class FakeNlp:
        def __call__(self, text: str) -> Any:
            raise AssertionError("not called in this test")

    def fake() -> object:
        loaded.append(FakeNlp())
        return loaded[-1]

    monkeypatch.setattr(redactor_module, "load_ner_pipeline", fake)
    monkeypatch.setenv("FRONTDESK_REDACTION_NER", "1")
    redactor = services.redactor(Settings(), _NoDb())  # type: ignore[arg-type]
    assert redactor.use_ner and len(loaded) == 1
