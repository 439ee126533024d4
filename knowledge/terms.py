"""Search terms for es/pt/de/en: stems, compound parts and receptionist concepts.

Tokens are lower-cased, stemmed with Snowball (plurals and inflections), then folded to ASCII
(accents, umlauts, ß). German compounds also yield their heads and tails as separate, weaker
terms. A small table of receptionist concepts (price, opening hours, address, booking,
payment…) maps paraphrases such as "¿cuánto cuesta?" and "precio" to one shared term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from knowledge.stemming import snowball_stem
from textnorm import LANGUAGES, Language, detect_language, fold

PG_CONFIG: dict[Language, str] = {"es": "spanish", "pt": "portuguese", "de": "german", "en": "english"}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: dict[Language, frozenset[str]] = {
    "es": _wordset(
        """
        a al algo algun alguna ante antes aqui asi aun con como cual cuales cuando de del desde
        donde durante e el ella ellas ellos en entre era es esa ese eso esta estan este esto
        estos hay hasta la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o
        os otra otro para pero poco por porque puede puedo que quien se sea ser si sin sobre son
        su sus tambien te tengo tiene tienen tu tus un una uno unos usted ustedes vosotros y ya
        yo hola gracias favor quiero queria saber necesito qué cómo cuál dónde cuándo quién
        """
    ),
    "pt": _wordset(
        """
        a ao aos as ate com como da das de dela dele do dos e ela ele eles em entre era essa
        esse esta estao este eu foi ha isso isto ja la lhe mais mas me meu minha muito na nas
        nao nem no nos nossa o os ou para pela pelo por porque pode posso quais qual quando que
        quem se sem ser seu sua sao so tambem te tem tenho um uma uns voce voces vou ola
        obrigado obrigada favor quero queria saber preciso gostaria
        """
    ),
    "de": _wordset(
        """
        aber alle als also am an auch auf aus bei bin bis bitte da damit dann das dass dem den
        der des die dies diese dieser doch du ein eine einem einen einer es fur gibt hab habe
        haben hallo hat ich ihr ihre im in ist ja kann konnen man mein meine mich mir mit muss
        nach nicht noch nur ob oder sie sind so uber um und uns unser von vor war was welche
        welcher wenn werden wie wir wird zu zum zur danke gerne mochte wurde wissen
        """
    ),
    "en": _wordset(
        """
        a about all also am an and any are as at be been but by can could do does for from had
        has have hello hi how i if in is it its me my of on or our please so that the their them
        then there these they this to us was we what when where which who will with would you
        your thanks want know need like
        """
    ),
}
_WORD = re.compile(r"\w+", re.UNICODE)

# Receptionist concepts: words in any of the four languages that ask about the same thing.
_CONCEPTS: dict[str, str] = {
    "price": """precio precios cuesta cuestan cuanto cuánto vale valen tarifa tarifas coste costo importe
        preço preços custa custam quanto valor valores tarifa custo
        preis preise kostet kosten gebühr gebühren tarif
        price prices cost costs fee fees charge rate rates much""",
    "hours": """horario horarios abren abierto abiertos abrís cierran cerrado cierra apertura
        horário horários abre abrem aberto aberta fecha fecham fechado funcionamento
        öffnungszeiten geöffnet offen öffnet schließt geschlossen sprechzeiten
        hours open opens opening close closes closed closing""",
    "where": """dirección direccion ubicación ubicados ubicado dónde donde llegar encuentran calle
        endereço endereco localização onde fica ficam chegar rua
        adresse wo anfahrt straße finden befinden
        address location located where directions street find""",
    "book": """cita citas reservar reserva reservas turno agendar pedir
        marcar marcação agendar agendamento reservar reserva consulta horário
        termin termine buchen vereinbaren reservieren reservierung
        appointment appointments book booking reserve reservation schedule consultation""",
    "parking": """aparcar aparcamiento parking estacionar estacionamiento
        estacionar estacionamento parque parquear
        parken parkplatz parkplätze parkhaus
        park parking car-park""",
    "pay": """pago pagar pagos tarjeta efectivo bizum transferencia
        pagamento pagar cartão dinheiro multibanco pix transferência
        zahlen bezahlen zahlung karte bar bargeld überweisung ec
        pay payment paying card cash transfer""",
    "phone": """teléfono telefono llamar whatsapp móvil
        telefone ligar telemóvel celular
        telefon anrufen handy
        phone call telephone mobile""",
    "cancel": """cancelar anular cancelación anulación
        cancelar desmarcar cancelamento
        absagen stornieren stornierung verschieben
        cancel cancellation reschedule""",
}

_COMPOUND_MIN = 10  # German words this long are split into heads and tails as well.


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits)."""
    return [w for w in _WORD.findall(text.lower()) if w != "_"]


# Folded too, so that accented and unaccented spellings are both stop words.
_FOLDED_STOPWORDS: dict[Language, frozenset[str]] = {
    lang: frozenset(fold(w) for w in words_) for lang, words_ in STOPWORDS.items()
}


@lru_cache(maxsize=200_000)
def stem(word: str, lang: Language) -> str:
    """Snowball stem of one lower-cased word, folded to ASCII."""
    return fold(snowball_stem(word, lang))


def _concept_index() -> dict[Language, dict[str, str]]:
    index: dict[Language, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for concept, vocabulary in _CONCEPTS.items():
        lines = vocabulary.strip().split("\n")  # one line per language, in LANGUAGES order
        for lang, line in zip(LANGUAGES, lines, strict=True):
            for word in line.split():
                index[lang].setdefault(stem(word.lower(), lang), "zz" + concept)
                index[lang].setdefault(fold(word), "zz" + concept)
    return index


_CONCEPT_INDEX = _concept_index()


@dataclass(frozen=True, slots=True)
class Terms:
    """Search terms of one text: main stems (with concept terms) and compound fragments."""

    main: list[str]
    parts: list[str]


def _compound_parts(token: str, lang: Language) -> list[str]:
    """Heads and tails of a long German word, stemmed: 'reifenwechsel' → reif…, wechsel…"""
    if lang != "de" or len(token) < _COMPOUND_MIN or token.isdigit():
        return []
    out: dict[str, None] = {}
    for cut in range(4, len(token) - 3):
        head, tail = token[:cut], token[cut:]
        out[stem(tail, lang)] = None
        out[stem(head, lang)] = None
        if head.endswith("s") and len(head) > 5:  # Fugen-s: "Arbeitszeit" → "arbeit"
            out[stem(head[:-1], lang)] = None
    return [part for part in out if len(part) >= 4]


def analyze(text: str, lang: Language, *, stopwords: bool = True) -> Terms:
    """Index-side terms of a text in a known language."""
    stops = _FOLDED_STOPWORDS[lang]
    concepts = _CONCEPT_INDEX[lang]
    main: list[str] = []
    parts: list[str] = []
    for word in words(text):
        folded = fold(word)
        if stopwords and folded in stops:
            continue
        stemmed = stem(word, lang)
        main.append(stemmed)
        concept = concepts.get(stemmed) or concepts.get(folded)
        if concept:
            main.append(concept)
        parts.extend(_compound_parts(folded, lang))
    return Terms(main, parts)


def query_terms(query: str, langs: Iterable[Language]) -> list[str]:
    """Distinct query terms: the query's words stemmed for each language the tenant writes in."""
    lang = detect_language(query, default="en")
    langs = list(dict.fromkeys([lang, *langs]))
    stops = _FOLDED_STOPWORDS[lang]
    out: dict[str, None] = {}
    for word in words(query):
        folded = fold(word)
        if folded in stops:
            continue
        for candidate in langs:
            stemmed = stem(word, candidate)
            out[stemmed] = None
            concept = _CONCEPT_INDEX[candidate].get(stemmed) or _CONCEPT_INDEX[candidate].get(folded)
            if concept:
                out[concept] = None
            for part in _compound_parts(folded, candidate):
                out[part] = None
    return list(out)
