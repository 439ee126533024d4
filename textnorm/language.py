"""Which of es, pt, de and en a text is written in: function words and telltale letters.

Cheap enough for every message (the redactor, the reply language, the 24-hour window's
template choice) and good enough for whole documents (the knowledge base's chunk language).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, Literal

from textnorm.folding import fold

Language = Literal["es", "pt", "de", "en"]
"""A language Frontdesk answers, indexes and redacts in."""
LANGUAGES: Final[tuple[Language, ...]] = ("es", "pt", "de", "en")
"""The supported languages; ties in detection go to the earlier one."""

_SCAN = 20_000  # characters of a long document that are enough to tell its language
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


# Frequent words of each language, folded (a word two languages share counts for both).
_MARKERS: Final[dict[Language, frozenset[str]]] = {
    "es": _words(
        """
        el los las del al y pero porque que qué como cómo para por con una uno unos unas es está
        estoy están soy quiero quería queria puedo puede tengo tiene hay mi mis su sus hola
        buenas buenos gracias cita mañana tarde noche hoy lunes martes miércoles jueves viernes
        sábado domingo semana hora horas me llamo nombre usted ustedes vale muy bien también
        pues ya sí cuánto cuesta precio reservar cancelar cambiar favor saludos abren abrís
        cierran aceptan aceptáis hacen tenéis podéis cuál cuáles dónde cuándo vosotros a algo
        algun alguna ante antes aqui asi aun de desde durante e ella ellas ellos en entre era
        esa ese eso este esto estos hasta la le les lo mas mucho nada ni no nos nosotros o os
        otra otro poco quien se sea ser sin sobre son te tienen tu tus un yo saber necesito
        """
    ),
    "pt": _words(
        """
        o os as do da dos das no na nos nas ao à e mas porque que como para por com um uma é
        está estou são sou quero queria posso pode tenho tem há meu minha seu sua você vocês olá
        oi obrigado obrigada amanhã hoje tarde noite segunda terça quarta quinta sexta semana
        hora horas me chamo nome muito bem também já sim não quanto custa preço marcar desmarcar
        agendar favor abraço abraços bom boa dia abrem fecham funcionam atendem aceitam fazem
        têm podem qual quais onde quando horário aos pelo pela ate de dela dele ela ele eles em
        entre era essa esse estao este eu foi isso isto la lhe mais nem nossa ou quem se sem ser
        so te uns vou saber preciso gostaria
        """
    ),
    "de": _words(
        """
        der die das den dem des und oder aber weil dass wie für mit ein eine einen einem ist bin
        sind habe haben möchte moechte kann können könnte ich sie wir mein meine ihr ihre hallo
        guten tag morgen abend danke bitte termin montag dienstag mittwoch donnerstag freitag
        samstag sonntag woche uhr heiße heisse name sehr gut auch schon ja nein nicht wieviel
        kostet kosten preis buchen absagen verschieben grüße gruß viele liebe alle als also am an auf
        aus bei bis da damit dann dies diese dieser doch du einer es gibt hab hat im in man mich
        mir muss nach noch nur ob so uber um uns unser von vor war was welche welcher wenn
        werden wird zu zum zur gerne wurde wissen
        """
    ),
    "en": _words(
        """
        the a an and or but because that how for with is am are was i you we my your our this it
        it's i'm can could would like want need have has hello hi hey thanks thank please
        appointment tomorrow today tonight morning afternoon evening monday tuesday wednesday
        thursday friday saturday sunday week name very good also yes no not much does cost price
        book cancel change reschedule regards cheers about all any as at be been by do from had
        if in its me of on so their them then there these they to us what when where which who
        will know
        """
    ),
}
# Letters only one of the languages writes (each found adds as much as one and a half words).
_LETTERS: Final[dict[Language, str]] = {"es": "ñ¿¡", "pt": "ãõç", "de": "äöüß", "en": ""}
_LETTER_WEIGHT: Final = 1.5


_LANGUAGES_OF: Final[dict[str, tuple[Language, ...]]] = {
    word: tuple(lang for lang in LANGUAGES if word in _MARKERS[lang])
    for word in frozenset().union(*_MARKERS.values())
}


_LETTER_OF: Final[tuple[tuple[str, Language], ...]] = tuple(
    (letter, lang) for lang, letters in _LETTERS.items() for letter in letters
)


@lru_cache(maxsize=50_000)
def _languages_of(word: str) -> tuple[Language, ...]:
    """The languages a case-folded word is a marker of (accents or not)."""
    return _LANGUAGES_OF.get(word if word.isascii() else fold(word), ())


def _scores(text: str) -> dict[Language, float]:
    lowered = text[:_SCAN].casefold()
    scores: dict[Language, float] = dict.fromkeys(LANGUAGES, 0.0)
    for word in _WORD.findall(lowered):
        for lang in _languages_of(word):
            scores[lang] += 1.0
    for letter, lang in _LETTER_OF:
        if letter in lowered:
            scores[lang] += _LETTER_WEIGHT
    return scores


def detect_language(text: str, default: Language = "en") -> Language:
    """Best guess among es/pt/de/en; ``default`` when nothing tells or it ties for first."""
    scores = _scores(text)
    top = max(scores.values())
    if top <= 0:
        return default
    tied: list[Language] = [lang for lang in LANGUAGES if scores[lang] == top]
    return default if default in tied else tied[0]


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
