"""Shared fixtures of the redaction tests: one loaded redactor per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.vault import ConversationKey, InMemoryVault


@pytest.fixture(scope="session")
def shared_redactor() -> Redactor:
    """A redactor with NER (the spaCy pipeline loads once per test session)."""
    return Redactor(InMemoryVault())


@pytest.fixture
def redactor(shared_redactor: Redactor) -> Redactor:
    """A fresh vault around the shared, already loaded pipeline."""
    return Redactor(InMemoryVault(), nlp=shared_redactor._nlp)


@pytest.fixture
def ctx() -> RedactionContext:
    return RedactionContext(ConversationKey(1, 100))


@pytest.fixture
def leaked(redactor: Redactor, ctx: RedactionContext) -> Callable[[str, str], str]:
    """``leaked(text, value)``: the letters and digits of ``value`` left unredacted in ``text``."""

    def check(text: str, value: str) -> str:
        spans, _ = redactor.find(text, ctx)
        start = text.index(value)
        return "".join(
            text[i]
            for i in range(start, start + len(value))
            if text[i].isalnum() and not any(s.start <= i < s.end for s in spans)
        )

    return check
