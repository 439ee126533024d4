"""Text normalisation every room shares: one ``fold``, one language detector, one language list.

It sits at the bottom of the house and imports none of the other rooms, so the gateway, the
channels, the workers, the agent, the knowledge base and the evals fold and detect alike.
"""

from __future__ import annotations

from textnorm.folding import fold
from textnorm.language import LANGUAGES, Language, conversation_language, detect_language

__all__ = ["LANGUAGES", "Language", "conversation_language", "detect_language", "fold"]
