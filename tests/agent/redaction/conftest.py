"""Shared fixtures of the redaction tests: one loaded redactor per session."""

from __future__ import annotations

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
