"""Snowball stems, safe across threads.

A ``snowballstemmer`` stemmer keeps the word it works on in the object itself (``set_current``
and its cursors): shared between threads, two words interleave, and a stem comes out wrong
(and is cached wrong) or ``stemWord`` raises ``IndexError``. Each thread has its own stemmers.
"""

from __future__ import annotations

import threading
from typing import Any

import snowballstemmer  # pyright: ignore[reportMissingTypeStubs]

from textnorm import Language

_SNOWBALL: dict[Language, str] = {"en": "english", "es": "spanish", "pt": "portuguese", "de": "german"}
_local = threading.local()


def snowball_stem(word: str, lang: Language) -> str:
    """The Snowball stem of one lower-cased word (not folded), by this thread's stemmer."""
    stemmers: dict[Language, Any] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(lang)
    if stemmer is None:
        stemmer = stemmers[lang] = snowballstemmer.stemmer(_SNOWBALL[lang])  # pyright: ignore[reportUnknownMemberType]
    return str(stemmer.stemWord(word))
