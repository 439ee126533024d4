"""Case and accent folding for matching words (look-ups, search terms, commands, keywords)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-fold and strip accents: ``"Lucía"`` → ``"lucia"``, ``"Straße"`` → ``"strasse"``.

    ``str.casefold`` turns ß (and ẞ) into ``ss``, so German spellings with and without it meet.
    The result can be longer than ``text``: use it to compare words, never to index ``text``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
