"""Evals tests: no Langfuse export unless a test points it at the local receiver."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_langfuse_env(monkeypatch):
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST"):
        monkeypatch.delenv(name, raising=False)
