"""Street addresses as one span: street, number, unit, postcode and city.

A street is found by its street word (es/pt prefixes such as "Calle", "Rua", "Prolongación";
English suffixes such as "Street", "Shores"; German compounds such as "Karl-Marx-Allee") and a
house number (or "S/N"). The span then grows over what follows it: units ("Apt. 35",
"Interior 032", "4º esq", "bloco C"), postcodes (ES/MX/DE/AT/PT/BR/US/UK, with "C.P.", "CEP"),
US states, the city, a colonia. PO boxes are addresses too. Street words come from Faker's
locale address providers (public lists of street types) plus a few of our own.
"""

from __future__ import annotations

import re
from functools import cache

from faker.providers.address.en_GB import Provider as _EnGb
from faker.providers.address.en_US import Provider as _EnUs
from faker.providers.address.es_ES import Provider as _EsEs
from faker.providers.address.es_MX import Provider as _EsMx
from faker.providers.address.pt_BR import Provider as _PtBr
from faker.providers.address.pt_PT import Provider as _PtPt
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from agent.redaction.lexicon import NEVER_NAMES, STOP_WORDS
from agent.redaction.recognizers import BaseRecognizer, result
from textnorm import fold

# Street words that are also everyday words ("vale", "campo", "feira"): only capitalised.
_AMBIGUOUS_PREFIXES = frozenset(
    fold(w)
    for w in [
        "vale",
        "via",
        "vial",
        "campo",
        "lago",
        "lagoa",
        "feira",
        "morro",
        "parque",
        "jardim",
        "area",
        "distrito",
        "conjunto",
        "setor",
        "sitio",
        "praia",
        "retorno",
        "acceso",
        "cuesta",
        "ampliacion",
        "continuacion",
        "corredor",
        "diagonal",
        "peatonal",
        "circuito",
        "residencial",
        "recanto",
        "trecho",
        "trevo",
        "vereda",
        "nucleo",
        "estacao",
        "favela",
        "fazenda",
        "vila",
        "c.",
        "plaza",
    ]
)
_OWN_PREFIXES = [
    "calle",
    "c/",
    "avda",
    "avda.",
    "av.",
    "av",
    "pº",
    "pza",
    "pza.",
    "plaza",
    "carretera",
    "ctra",
    "ctra.",
    "travesía",
    "traves",
    "travessa",
    "rua",
    "r.",
    "praça",
    "pça",
    "pça.",
    "estrada",
    "rodovia",
    "beco",
    "ladeira",
    "rambla",
    "costanilla",
    "jirón",
    "jr.",
    "carrera",
    "cra",
    "cl",
    "paseo",
    "pasaje",
    "boulevard",
    "bulevar",
    "blvd",
    "blvd.",
    "calzada",
    "cerrada",
    "privada",
    "prolongación",
    "callejón",
    "glorieta",
    "ronda",
    "urbanización",
    "urb.",
    "andador",
    "viaducto",
    "pasadizo",
    "alameda",
    "avenida",
    "largo",
    "loteamento",
    "quadra",
    "viela",
    "condomínio",
]
_OWN_SUFFIXES_EN = [
    "street",
    "st",
    "st.",
    "avenue",
    "ave",
    "ave.",
    "road",
    "rd",
    "rd.",
    "lane",
    "ln",
    "ln.",
    "drive",
    "dr",
    "dr.",
    "boulevard",
    "blvd",
    "way",
    "court",
    "ct",
    "ct.",
    "place",
    "pl",
    "pl.",
    "terrace",
    "close",
    "crescent",
    "square",
    "sq",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "row",
    "walk",
    "gardens",
    "grove",
    "mews",
    "circle",
    "cir",
    "trail",
    "plaza",
    "alley",
    "expressway",
    "pike",
]
_DE_SUFFIXES = (
    "straße|strasse|str\\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|graben|"
    "kamp|wall|garten|zeile|steg|kai|brücke|anger|hof|berg|feld|winkel|höhe|promenade|stieg"
)
# Suffix words that open everyday phrases ("a 10 minute walk", "2 hours rest"): need capitals.
_AMBIGUOUS_SUFFIXES = frozenset(
    [
        "walk",
        "rest",
        "view",
        "point",
        "park",
        "center",
        "centre",
        "station",
        "way",
        "place",
        "row",
        "close",
        "run",
        "pass",
        "square",
        "plaza",
        "green",
        "hill",
        "hills",
        "island",
        "islands",
        "lake",
        "lakes",
        "light",
        "lights",
        "mill",
        "mills",
        "port",
        "ports",
        "spring",
        "springs",
        "stream",
        "summit",
        "common",
        "corner",
        "course",
        "cove",
        "crest",
        "crossing",
        "dale",
        "dam",
        "divide",
        "forge",
        "fork",
        "forks",
        "gateway",
        "glen",
        "harbor",
        "haven",
        "heights",
        "hollow",
        "inlet",
        "key",
        "keys",
        "knoll",
        "knolls",
        "land",
        "lock",
        "locks",
        "lodge",
        "loop",
        "mall",
        "manor",
        "manors",
        "meadow",
        "meadows",
        "mission",
        "motorway",
        "mount",
        "mountain",
        "mountains",
        "neck",
        "orchard",
        "oval",
        "overpass",
        "path",
        "plain",
        "plains",
        "port",
        "prairie",
        "radial",
        "ramp",
        "ranch",
        "rapid",
        "rapids",
        "ridge",
        "ridges",
        "river",
        "route",
        "shoal",
        "shoals",
        "shore",
        "shores",
        "skyway",
        "spur",
        "spurs",
        "stravenue",
        "street",
        "streets",
        "track",
        "trace",
        "trafficway",
        "tunnel",
        "turnpike",
        "underpass",
        "union",
        "unions",
        "valley",
        "valleys",
        "via",
        "viaduct",
        "ville",
        "vista",
        "wall",
        "ways",
        "well",
        "wells",
        "extension",
        "extensions",
        "fall",
        "falls",
        "ferry",
        "field",
        "fields",
        "flat",
        "flats",
        "ford",
        "fords",
        "freeway",
        "garden",
        "gardens",
        "grove",
        "groves",
        "junction",
        "junctions",
        "creek",
        "crescent",
        "cliff",
        "cliffs",
        "club",
        "camp",
        "canyon",
        "cape",
        "causeway",
        "circles",
        "court",
        "courts",
        "bridge",
        "brook",
        "brooks",
        "burg",
        "burgs",
        "bypass",
        "bluff",
        "bluffs",
        "bottom",
        "branch",
        "bend",
        "beach",
        "drive",
        "drives",
        "estate",
        "estates",
        "express",
        "gateway",
        "garden",
    ]
)


def _alternation(words: list[str]) -> str:
    return "|".join(sorted({re.escape(w) for w in words if w}, key=len, reverse=True))


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    prefixes = [
        *_EsEs.street_prefixes,
        *_EsMx.street_prefixes,
        *_PtBr.street_prefixes,
        *_PtPt.street_prefixes,
        *_OWN_PREFIXES,
    ]
    strong = [p for p in prefixes if fold(p) not in _AMBIGUOUS_PREFIXES]
    weak = [p.capitalize() for p in prefixes if fold(p) in _AMBIGUOUS_PREFIXES and len(p) > 2] + ["C.", "C/"]
    suffixes = [*_EnUs.street_suffixes, *_EnGb.street_suffixes, *_OWN_SUFFIXES_EN]
    word = r"[^\W\d_][\w'’.º-]*"
    link = r"(?:\s+(?:de|del|da|do|das|dos|de\s+la|de\s+los|la|las|los|el|e|y|i)\b)?\s+"
    number = r"(?:n[º°o]\.?\s*|núm\.?\s*|número\s+|nr\.?\s*|#\s*)?(?:\d{1,5}(?:\s?[A-Za-z]|[º°ª])?(?![\w])(?:\s?[-/]\s?\d{1,4}[A-Za-z]?)?|s/n|S/N|sn|SN)"
    romance = re.compile(
        rf"(?<![\w])(?:(?i:{_alternation(strong)})|{_alternation(weak)})\.?{link}{word}"
        rf"(?:{link}{word}){{0,6}}?,?\s*(?:-\s*)?{number}(?![\w])"
    )
    english = re.compile(
        rf"(?<![\w])\d{{1,6}}[A-Za-z]?(?:\s+{word}){{1,4}}?\s+(?i:{_alternation(suffixes)})\b\.?"
        r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    )
    german = re.compile(
        rf"(?<![\w])(?:(?:Am|An der|An den|Auf dem|Auf der|Im|In der|Zum|Zur|Unter den|Alte|Alter|Neue|Neuer|"
        rf"Obere|Untere|Große|Kleine)\s+)?(?:[^\W\d_][\w.-]*(?i:{_DE_SUFFIXES})|[^\W\d_][\w-]*\s+"
        rf"(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Markt|Graben))\s*"
        r"\d{1,4}\s?[A-Za-z]?(?![\w])(?:\s?[-/]\s?\d{1,4}[A-Za-z]?)?"
    )
    return romance, english, german


_PO_BOX = re.compile(
    r"(?<![\w])(?i:p\.?\s?o\.?\s?box|post\s+office\s+box|apartado(?:\s+de\s+correos)?|caixa\s+postal|"
    r"postfach|c\.?\s?p\.?\s?\d|cx\.?\s?postal)\s*\d[\d ]{0,8}\d?"
)
_UNIT = re.compile(
    r"(?i:apt|apto|apartment|apartamento|suite|ste|unit|flat|studio|piso|puerta|pta|interior|int|"
    r"edif|edificio|depto|dpto|departamento|bloco|bloque|casa|escalera|esc|portal|andar|sala|loja|"
    r"stock|og|etage|whg|wohnung|top|tür|lote|lt|mz|manzana|planta|pl|fração|fracção|dto|esq|dta)\b"
    r"\.?\s*[#nº°.]*\s*\w{1,5}(?:\s?[º°ª])?(?:\s*(?i:esq|dto|dta|izq|izda|dcha|der|frente|fte|[A-Da-d])\b\.?)?"
    r"|\d{1,2}\s?[º°ª]\.?\s*(?:(?i:esq|dto|dta|izq|izda|dcha|der|andar|piso|frente|fte|[A-Da-d])\b\.?)?"
    r"|#\s?\d{1,5}[A-Za-z]?"
)
_POSTCODE = re.compile(
    r"(?i:c\.?\s?p\.?|cep|cp|plz|zip|código\s+postal|postleitzahl|postcode)?[:.]?\s*"
    r"(?:[A-Z]-)?\d{4,5}(?:-\d{3,4})?(?![\w])"
    r"|(?i:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})(?![\w])"
)
_STATE = re.compile(r"[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?(?![\w])")
_COLONIA = re.compile(r"(?i:col\.|colonia|bairro|barrio|fracc\.|fraccionamiento)\s+[^\W\d_][\w'-]*")


_PLACE_WORD = re.compile(r"\s*\(?([^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?)\)?")


def _place_words(text: str, pos: int, lowercase_ok: bool) -> int:
    """End of 1–4 place-name words starting at ``pos`` ("Bad Radkersburg", "Oliveira do Bairro")."""
    end, words = pos, 0
    for m in _PLACE_WORD.finditer(text[pos:]):
        if m.start() != end - pos:
            break
        token = m.group(1)
        key = fold(token.rstrip("."))
        particle = key in (
            "de",
            "do",
            "da",
            "dos",
            "das",
            "del",
            "an",
            "der",
            "am",
            "im",
            "la",
            "los",
            "upon",
            "on",
        )
        if words == 0 and particle:
            break
        titled = token[:1].isupper()
        after_particle = words > 0 and fold(text[pos:end].split()[-1]) in ("los", "las", "la", "de", "del")
        if (
            not particle
            and not titled
            and not after_particle
            and (not lowercase_ok or key in STOP_WORDS or key in NEVER_NAMES)
        ):
            break
        if not particle and titled and key in STOP_WORDS and words == 0:
            break
        end = pos + m.end()
        words += 1
        if words >= 4:
            break
    # a trailing particle is not part of the name
    while end > pos and fold(text[pos:end].split()[-1]) in (
        "de",
        "do",
        "da",
        "dos",
        "das",
        "del",
        "an",
        "der",
        "la",
    ):
        end = pos + text[pos:end].rstrip().rfind(" ")
    return end if words else pos


_SEP = re.compile(r"\s*,?\s*(?:-\s*)?(?:(?i:in|en|em|na|no)\s+)?\(?")
_BARE_NUMBER = re.compile(r"\d{1,4}[A-Za-z]?(?![\w.,:/])")


def extend_address(text: str, end: int, lowercase_ok: bool) -> int:
    """Grow an address span over units, postcodes, states, a colonia and the city after it."""
    previous = "street"
    for _ in range(8):
        sep = _SEP.match(text, end)
        sep_end = sep.end() if sep else end
        gap = text[end:sep_end]
        if gap.count("\n") > 1:
            break
        listed = "," in gap or "\n" in gap or "-" in gap
        piece = ""
        for name, pattern in (("unit", _UNIT), ("colonia", _COLONIA), ("postcode", _POSTCODE)):
            hit = pattern.match(text, sep_end)
            if hit and text[sep_end : hit.end()].strip():
                end, piece = hit.end(), name
                break
        if not piece and previous == "street" and gap.strip(" ,") == "":
            hit = _BARE_NUMBER.match(text, sep_end)
            if hit:
                end, piece = hit.end(), "unit"
        if not piece and (listed or previous in ("place", "postcode")):
            state = _STATE.match(text, sep_end)
            if state and (listed or previous == "place"):
                end, piece = state.end(), "state"
        if not piece and (listed or previous == "postcode"):
            place = _place_words(text, sep_end, lowercase_ok)
            if place > sep_end:
                end, piece = place, "place"
        if not piece:
            break
        previous = piece
    return end


class StreetAddressRecognizer(BaseRecognizer):
    """Street + number (+ unit + postcode + city) as one span; PO boxes."""

    ENTITY = "STREET_ADDRESS"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        lowercase_ok = not any(ch.isupper() for ch in text)
        found: list[RecognizerResult] = []
        for pattern in (*_patterns(), _PO_BOX):
            for m in pattern.finditer(text):
                if not _plausible(m.group(), lowercase_ok):
                    continue
                start = _unit_before(text, m.start())
                end = extend_address(text, m.end(), lowercase_ok)
                found.append(result(self.ENTITY, start, end, 0.7, self))
        return found


def _plausible(street: str, lowercase_ok: bool) -> bool:
    """Reject everyday phrases that only look like streets ("10 minute walk", "2 hours rest")."""
    words = street.split()
    if not words or not words[0][:1].isdigit():
        return True
    suffix = fold(words[-1].rstrip("."))
    if suffix not in _AMBIGUOUS_SUFFIXES:
        return True
    inner = words[1:-1]
    if any(fold(w) in NEVER_NAMES or fold(w) in STOP_WORDS for w in inner):
        return False
    return lowercase_ok or words[-1][:1].isupper() or any(w[:1].isupper() for w in inner)


_UNIT_BEFORE = re.compile(r"(?i:flat|apt|apartment|unit|suite|studio)\.?\s*\w{1,5},?\s*$")


def _unit_before(text: str, start: int) -> int:
    m = _UNIT_BEFORE.search(text[max(0, start - 20) : start])
    return start - (len(text[max(0, start - 20) : start]) - m.start()) if m else start
