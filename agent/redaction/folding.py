"""Case and accent folding for word look-ups (no heavy imports: the gateway uses it too)."""

from __future__ import annotations

import unicodedata


def fold(word: str) -> str:
    """Lower-case and strip accents: ``"Lucía"`` → ``"lucia"`` (ß stays a distinct letter)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
