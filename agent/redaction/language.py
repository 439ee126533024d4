"""Cheap per-message language detection for es, pt, de and en (function words and letters)."""

from __future__ import annotations

import re
from typing import Final, Literal

Language = Literal["es", "pt", "de", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("es", "pt", "de", "en")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

# Frequent function words that mostly belong to one language (shared words are left out).
_MARKERS: Final[dict[Language, frozenset[str]]] = {
    "es": (
        _words(
            """el los las del al y pero porque que qué como cómo para por con una uno unos unas es está
            estoy están soy quiero quería queria puedo puede tengo tiene hay mi mis su sus hola buenas
            buenos gracias cita mañana tarde noche hoy lunes martes miércoles jueves viernes sábado
            domingo semana hora horas me llamo nombre usted ustedes vale muy bien también pues ya sí
            cuánto cuesta precio reservar cancelar cambiar favor saludos abren abrís cierran
            aceptan aceptáis hacen tenéis podéis cuál cuáles dónde cuándo vosotros ustedes"""
        )
    ),
    "pt": (
        _words(
            """o os as do da dos das no na nos nas ao à e mas porque que como para por com um uma é está
            estou são sou quero queria posso pode tenho tem há meu minha seu sua você vocês olá oi
            obrigado obrigada amanhã hoje tarde noite segunda terça quarta quinta sexta semana hora
            horas me chamo nome muito bem também já sim não quanto custa preço marcar desmarcar
            agendar favor abraço abraços bom boa dia abrem fecham funcionam atendem aceitam fazem
            têm podem qual quais onde quando horário ao aos pelo pela"""
        )
    ),
    "de": (
        _words(
            """der die das den dem des und oder aber weil dass wie für mit ein eine einen einem ist bin
            sind habe haben möchte moechte kann können könnte ich sie wir mein meine ihr ihre hallo
            guten tag morgen abend danke bitte termin montag dienstag mittwoch donnerstag freitag
            samstag sonntag woche uhr heiße heisse name sehr gut auch schon ja nein nicht wieviel
            kostet preis buchen absagen verschieben grüße gruß viele liebe"""
        )
    ),
    "en": (
        _words(
            """the a an and or but because that how for with is am are was i you we my your our this it
            it's i'm can could would like want need have has hello hi hey thanks thank please
            appointment tomorrow today tonight morning afternoon evening monday tuesday wednesday
            thursday friday saturday sunday week name is very good also yes no not how much does cost
            price book cancel change reschedule regards cheers"""
        )
    ),
}
_LETTER_HINTS: Final[dict[Language, str]] = {"es": "ñ¿¡", "pt": "ãõç", "de": "äöüß", "en": ""}


def _scores(text: str) -> dict[Language, float]:
    lowered = text.casefold()
    scores: dict[Language, float] = dict.fromkeys(LANGUAGES, 0.0)
    for word in _WORD.findall(lowered):
        for lang in LANGUAGES:
            if word in _MARKERS[lang]:
                scores[lang] += 1.0
    for lang, letters in _LETTER_HINTS.items():
        for letter in letters:
            if letter in lowered:
                scores[lang] += 1.5
    return scores


def detect_language(text: str, default: Language = "en") -> Language:
    """Best guess among es/pt/de/en from function words and letters; ``default`` if no signal."""
    scores = _scores(text)
    top = max(scores.values())
    if top <= 0:
        return default
    tied: list[Language] = [lang for lang in LANGUAGES if scores[lang] == top]
    if default in tied:
        return default
    return tied[0]


SHORT_WORDS: Final = 3
"""A message of fewer words than this is too short to switch a conversation's language."""


def conversation_language(text: str, previous: str | None, default: Language = "en") -> Language:
    """The language to answer ``text`` in, keeping the conversation's language when unsure.

    A short message ("ok", "gracias", "thanks!") or one without a clear winner keeps the
    language of the previous turns (``previous``), else the tenant's ``default``; a longer
    message with a clear lead switches.
    """
    keep = default
    for lang in LANGUAGES:
        if lang == previous:
            keep = lang
    scores = _scores(text)
    ranked = sorted(scores.values(), reverse=True)
    top, runner_up = ranked[0], ranked[1]
    if top <= 0 or top - runner_up < 1:
        return keep
    best: Language = next(lang for lang in LANGUAGES if scores[lang] == top)
    if keep == previous and len(_WORD.findall(text)) < SHORT_WORDS:
        return keep
    return best
