"""The providers an eval can run against, and the operator's key (kept in memory only)."""

from __future__ import annotations

from typing import Literal

ProviderChoice = Literal["simulator", "openai", "anthropic", "gemini"]
REAL_PROVIDERS: tuple[ProviderChoice, ...] = ("openai", "anthropic", "gemini")


class OperatorKey:
    """The operator's API key, kept in memory; prints as ``***``."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "OperatorKey(***)"

    def reveal(self) -> str:
        return self._value
