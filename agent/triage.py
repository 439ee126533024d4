"""Rules that send a conversation to a human before any model is asked (es/pt/de/en).

Cheap, deterministic and run on every turn: an explicit ask for a person, the tenant's
keywords (complaint, legal, emergency…), and strongly negative sentiment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from textnorm import fold

_PERSON_WORDS = (
    r"(?:an? )?(?:human|person|real person|agent|representative|operator|someone|somebody|staff)"
    r"|(?:una? )?(?:persona|humano|agente|asesor|asesora|operador|operadora|alguien|empleado)"
    r"|(?:uma? )?(?:pessoa|humano|atendente|agente|operador|alguem|funcionario)"
    r"|(?:einen?|einer|einem) (?:menschen|mensch|mitarbeiter|mitarbeiterin|person|berater)"
)
_HUMAN_ASK = re.compile(
    r"\b(?:talk|speak|chat)(?:ing)? (?:to|with) (?:" + _PERSON_WORDS + r")\b"
    r"|\b(?:hablar|habla|hablo|comunicarme|pasame|pasarme|ponme) (?:con )?(?:" + _PERSON_WORDS + r")\b"
    r"|\b(?:falar|fala|falo|passar|passa|me passa) (?:com |para )?(?:" + _PERSON_WORDS + r")\b"
    r"|\b(?:mit )?(?:" + _PERSON_WORDS + r") (?:sprechen|reden)\b"
    r"|\b(?:real person|human please|human agent|persona real|atencion humana|pessoa real|"
    r"atendimento humano|echten? menschen|menschlichen? (?:mitarbeiter|ansprechpartner))\b"
    r"|^\s*(?:agent|agente|atendente|human|humano|persona|pessoa|mitarbeiter|mensch)\s*[.!?]*\s*$"
)

_NEGATIVE = frozenset(
    [
        "terrible",
        "horrible",
        "awful",
        "worst",
        "disgusting",
        "useless",
        "scam",
        "fraud",
        "furious",
        "angry",
        "ridiculous",
        "unacceptable",
        "incompetent",
        "pathetic",
        "shameful",
        "lousy",
        "hate",
        "pesimo",
        "pesima",
        "horrible",
        "fatal",
        "vergonzoso",
        "vergonzosa",
        "estafa",
        "enfadado",
        "enfadada",
        "furioso",
        "furiosa",
        "harto",
        "harta",
        "inaceptable",
        "indignante",
        "asqueroso",
        "odio",
        "incompetentes",
        "pessimo",
        "pessima",
        "horrivel",
        "vergonha",
        "golpe",
        "irritado",
        "irritada",
        "furioso",
        "furiosa",
        "inaceitavel",
        "absurdo",
        "nojento",
        "odeio",
        "ridiculo",
        "schrecklich",
        "furchtbar",
        "katastrophal",
        "unverschamt",
        "betrug",
        "wutend",
        "sauer",
        "inakzeptabel",
        "lacherlich",
        "miserabel",
        "hasse",
        "inkompetent",
    ]
)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Triage:
    """Why a turn must go to a human, or ``None`` when the bot may answer."""

    reason: str | None
    rule: str | None = None


def asks_for_human(text: str) -> bool:
    """True when the customer explicitly asks for a person."""
    return bool(_HUMAN_ASK.search(fold(text)))


def matching_keyword(text: str, keywords: Sequence[str]) -> str | None:
    """The first tenant keyword found as a whole word or phrase, if any."""
    folded = fold(text)
    for keyword, pattern in _keyword_patterns(tuple(keywords)):
        if pattern.search(folded):
            return keyword
    return None


@lru_cache(maxsize=256)
def _keyword_patterns(keywords: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each keyword with its folded whole-word pattern (a tenant's list is the same every turn;
    keyed by the keywords themselves)."""
    return tuple((k, re.compile(r"\b" + re.escape(fold(k)) + r"\b")) for k in keywords)


def negativity(text: str) -> int:
    """A cheap sentiment score: strong negative words, plus shouting and exclamations."""
    words = _WORD.findall(fold(text))
    score = sum(1 for w in words if w in _NEGATIVE)
    if score and (text.count("!") >= 2 or sum(1 for c in text if c.isupper()) > 0.6 * max(1, len(text))):
        score += 1
    return score


def triage(text: str, keywords: Sequence[str], *, negative_threshold: int = 2) -> Triage:
    """Decide whether this turn goes straight to a human."""
    if asks_for_human(text):
        return Triage("the customer asked for a person", "explicit_request")
    keyword = matching_keyword(text, keywords)
    if keyword is not None:
        return Triage(f"handoff keyword: {keyword}", "keyword")
    if negativity(text) >= negative_threshold:
        return Triage("strongly negative sentiment", "sentiment")
    return Triage(None)
