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
import unicodedata
from functools import cache

from faker.providers.address.en_GB import Provider as _EnGb
from faker.providers.address.en_US import Provider as _EnUs
from faker.providers.address.es_ES import Provider as _EsEs
from faker.providers.address.es_MX import Provider as _EsMx
from faker.providers.address.pt_BR import Provider as _PtBr
from faker.providers.address.pt_PT import Provider as _PtPt
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from agent.redaction.lexicon import (
    CALENDAR_WORDS,
    COMMON_WORDS,
    DURATION_WORDS,
    GREETINGS,
    MONTHS,
    NEVER_NAMES,
    STOP_WORDS,
    WEEKDAYS,
)
from agent.redaction.recognizers import BaseRecognizer, result
from agent.redaction.street_words import (
    AMBIGUOUS_PREFIXES,
    AMBIGUOUS_SUFFIXES,
    DE_SUFFIXES,
    FUNCTION_WORDS,
    OWN_PREFIXES,
    OWN_SUFFIXES_EN,
    folded_words,
)
from textnorm import fold


def _alternation(words: list[str]) -> str:
    return "|".join(sorted({re.escape(w) for w in words if w}, key=len, reverse=True))


def strip_accents(word: str) -> str:
    """``"Callejón"`` → ``"Callejon"`` (case and ``º`` kept)."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _with_plain(words: list[str]) -> list[str]:
    """Each word and its spelling without accents ("Callejón", "Callejon")."""
    return [*words, *(strip_accents(w) for w in words)]


_WORD = r"[^\W\d_][\w'’.º-]*"
_DE_PREPOSITIONS = r"Am|An der|An den|An dem|Auf dem|Auf der|Im|In der|In den|Zum|Zur|Unter den|Hinter der|Vor dem|Beim|Bei der"
_DE_WORDS = (
    r"Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Markt|Graben|Chaussee|Steig|Pfad|Zeile|Kai"
)


def _prefixes() -> list[str]:
    return [
        *_EsEs.street_prefixes,
        *_EsMx.street_prefixes,
        *_PtBr.street_prefixes,
        *_PtPt.street_prefixes,
        *OWN_PREFIXES,
    ]


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    prefixes = _prefixes()
    strong = _with_plain([p for p in prefixes if fold(p) not in AMBIGUOUS_PREFIXES])
    weak_words = [p for p in prefixes if fold(p) in AMBIGUOUS_PREFIXES and len(p) > 2]
    weak = _with_plain([p.capitalize() for p in weak_words] + ["C.", "C/"])
    suffixes = [*_EnUs.street_suffixes, *_EnGb.street_suffixes, *OWN_SUFFIXES_EN]
    link = r"(?:\s+(?:de|del|da|do|das|dos|de\s+la|de\s+los|la|las|los|el|e|y|i)\b)?\s+"
    name_word = rf"(?:{_WORD}|\d{{1,2}}(?=\s+de\s)|[IVXL]{{1,5}}(?=\s+de\s))"
    number = (
        r"(?:(?i:n\.?\s?[º°o]\.?|no\.|núm\.?|num\.|número|nr\.?)\s*|#\s*)?"
        r"(?:\d{1,5}(?:\s?[A-Za-z]|[º°ª])?(?![\w/])(?:\s?[-/]\s?\d{1,4}[A-Za-z]?(?!\.?\s?[º°ª])){0,3}|s/n|S/N|sn|SN)"
    )
    romance = rf"\.?{link}{name_word}(?:{link}{name_word}){{0,6}}?,?\s*(?:-\s*)?{number}(?![\w])"
    en_number = r"\d{1,6}[A-Za-z]?(?:\s?-\s?\d{1,6}[A-Za-z]?)?"
    en_word = rf"(?:{_WORD}|\d{{1,3}}(?:st|nd|rd|th))"
    de_number = r"\d{1,4}\s?[A-Za-z]?(?![\w])(?:\s?[-/]\s?\d{1,4}[A-Za-z]?){0,3}"
    cap = r"[A-ZÄÖÜÁÉÍÓÚÑÇ][\w'’.-]*"
    return {
        # no street word, anchored on what follows: "21 Kingsway, London WC2B 6UN", "9 Elm, Boise, ID 83702"
        "anchored_en": re.compile(
            rf"(?<![\w-]){en_number}\s+{cap}(?:\s+{cap}){{0,3}},?\s+(?:{cap},?\s+){{0,3}}"
            r"(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]{2}\s+\d{5}(?:-\d{4})?)(?![\w])"
        ),
        # "Gran Vía 28, 28013 Madrid", "Graben 12, A-8010 Graz"
        "anchored_eu": re.compile(
            rf"(?<![\w]){cap}(?:\s+(?:{cap}|de|del|da|do|dos|das|la|der|den)){{0,4}}\s+{de_number},\s*"
            r"(?:[A-Z]-)?(?:\d{4,5}|\d{4}-\d{3}|\d{5}-\d{3})\s+(?=[A-ZÄÖÜÁÉÍÓÚ][a-zäöüßáéíóúñçã])(?!Euro|EUR|Uhr)"
        ),
        "romance": re.compile(rf"(?<![\w])(?:(?i:{_alternation(strong)})|{_alternation(weak)}){romance}"),
        # no house number, on its own line or before a comma: kept only when a postcode follows
        "romance_nonum": re.compile(
            rf"(?<![\w])(?:(?i:{_alternation(strong)})|{_alternation(weak)})\.?{link}{name_word}"
            rf"(?:{link}{name_word}){{0,5}}?(?=[ \t]*(?:,|\n))"
        ),
        # everyday words as street types ("plaza", "largo"), lower case: only after an address cue
        "romance_weak": re.compile(rf"(?<![\w])(?i:{_alternation(_with_plain(weak_words))}){romance}"),
        "english": re.compile(
            rf"(?<![\w-]){en_number}(?:\s+{en_word}){{1,4}}?\s+(?i:{_alternation(suffixes)})\b\.?"
            r"(?:\s+(?:N|S|E|W|(?i:NE|NW|SE|SW))\b)?"
        ),
        "german": re.compile(
            rf"(?<![\w])(?:(?P<adj>[^\W\d_]{{3,}}er)\s+)?(?:(?:{_DE_PREPOSITIONS})\s+)?"
            rf"(?:[^\W\d_][\w.-]*(?i:{DE_SUFFIXES})|[^\W\d_][\w-]*\s+(?i:{_DE_WORDS}))\s*{de_number}"
        ),
        # "Am Anger 40", "Unter den Linden 5": a preposition street (no street word)
        "german_place": re.compile(
            rf"(?<![\w])(?i:{_DE_PREPOSITIONS})\s+(?P<name>[^\W\d_][\w-]+)\s+{de_number}"
            r"(?!\s?(?i:uhr|h\b|min)|[.:]\d)"
        ),
    }


_ADDRESS_CUE = re.compile(
    r"(?i:direcci[oó]n|domicilio|vivo\s+en|estoy\s+en|env[ií]\w*\s+a|entrega\w*|morada|endere[cç]o|moro\s+n[ao]|"
    r"fica\s+n[ao]|adresse|anschrift|wohne|lieferung|address|live\s+at|ship\s+to|deliver\w*\s+to|mail\s+it\s+to|"
    r"send\s+it\s+to)(?:\s+\w{1,4}){0,2}\W{0,6}$"
)
_MILITARY = re.compile(
    r"(?<![\w])(?:(?:PSC|CMR|Unit)\s+\d{4},?\s+Box\s+\d{4}|(?:USNS|USNV|USS|USCGC)\s+[A-Z][a-z]+)"
    r"(?:\s*,?\s*(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})?"
)
_POSTCODE_DIGITS = re.compile(r"(?<![\w])\d{4,5}(?:-?\d{3,4})?(?![\w])")
_MARKED_NUMBER = re.compile(r"(?i:n\.?\s?[º°]|núm|s/n)|#")
_PO_BOX = re.compile(
    r"(?<![\w])(?i:p\.?\s?o\.?\s?box|pob|post\s+office\s+box|apartado(?:\s+de\s+correos|\s+postal)?|apdo\.?|"
    r"a\.\s?p\.|caixa\s+postal|postfach|cx\.?\s?postal)\s*(?:n[º°o.]\s*)?\d[\d ]{0,8}\d?"
)
_UNIT_WORDS = (
    r"apt|apto|ap|apartment|apartamento|suite|ste|unit|flat|studio|piso|puerta|pta|interior|int|"
    r"edif|edificio|depto|dpto|departamento|bloco|bloque|bl|casa|escalera|esc|portal|andar|sala|loja|"
    r"stock|og|etage|whg|wohnung|top|tür|tuer|tur|stiege|stg|app|lote|lt|mz|manzana|planta|pl|fração|fracção|fracao|dto|"
    r"esq|dta|room|rm|fl|floor|bldg|building|ext|exterior|no|nº"
)
_UNIT = re.compile(
    rf"(?i:{'|'.join(sorted(_UNIT_WORDS.split('|'), key=len, reverse=True))})\.?[ \t]*[#nº°.]*[ \t]*(?:\d{{1,5}}[A-Za-z]?|[A-Za-z]{{1,2}}\d{{0,3}})(?![\w])(?:\s?[º°ª])?"
    r"(?:\s*(?i:esq|dto|dta|izq|izda|dcha|der|frente|fte|[A-Da-d])\b\.?)?"
    r"|(?i:ext|exterior)\b\.?"
    r"|\d{1,2}\s?\.?\s?[º°ª]\.?\s*(?:(?i:esq|dto|dta|izq|izda|dcha|der|andar|piso|planta|frente|fte|[A-Fa-f])\b\.?)?"
    r"|\d{1,2}\.\s?(?i:OG|Stock|Etage|UG|DG|Obergeschoss)(?:\s+(?i:links|rechts|li|re|mitte))?"
    r"|(?i:EG|UG|DG|hinterhaus|vorderhaus|seitenflügel)(?:\s+(?i:links|rechts|li|re|mitte))?\b"
    r"|(?i:ático|atico|bajo|entlo|entresuelo|principal|pral|r/c|rc)\b\.?(?:\s*(?i:esq|dto|dta|izq|izda|dcha|[A-Da-d])\b\.?)?"
    r"|\d{1,2}\s?-\s?[A-Fa-f](?![\w])"
    r"|#\s?\d{1,5}[A-Za-z]?"
)
_POSTCODE = re.compile(
    r"(?i:c\.?\s?p\.?|cep|cp|plz|zip(?:\s?code)?|código\s+postal|postleitzahl|post\s?code)?[:.]?\s*"
    r"(?:\d{2}\.\d{3}-\d{3}|\d{8}|(?i:[A-Z]-)?\d{4,5}(?:-\d{3,4})?)(?![\w])"
    r"|(?i:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})(?![\w])"
)
_US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)
_STATE_NAMES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    r"Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    r"Mississippi|Missouri|Montana|Nebraska|Nevada|New\s+Hampshire|New\s+Jersey|New\s+Mexico|New\s+York|"
    r"North\s+Carolina|North\s+Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode\s+Island|South\s+Carolina|"
    r"South\s+Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West\s+Virginia|Wisconsin|Wyoming|"
    r"CDMX|Jal\.|Jalisco|N\.\s?L\.|Nuevo\s+Le[oó]n|Edo\.\s?(?:de\s+)?M[eé]x\.?|Qro\.|Quer[eé]taro|Pue\.|Yuc\.|"
    r"Ver\.|Gto\.|Chih\.|B\.\s?C\.|Q\.\s?Roo\.?|Mich\.|Oax\.|Son\.|Sin\.|Tamps\."
)
_STATE = re.compile(
    rf"(?:(?i:{_STATE_NAMES})|[A-Z]{{2}}|[A-Z]{{3,5}}(?=\s+\d{{5}}))(?![\w])(?:\s+\d{{5}}(?:-\d{{4}})?(?![\w]))?"
)
_STATE_ZIP_LOWER = re.compile(r"([a-z]{2})\s+\d{5}(?:-\d{4})?(?![\w])")
_COLONIA = re.compile(r"(?i:col\.?|colonia|bairro|barrio|fracc\.|fraccionamiento)\s+(?=[^\W\d_])")
_CLOSERS = folded_words(
    "gracias porfa please thanks thx ty danke bitte obrigado obrigada obg ok saludos cumprimentos "
    "abraço abrazo grüße gruesse regards cheers timbre ring"
)
_PLACE_BLOCK = (
    WEEKDAYS | MONTHS | GREETINGS | CALENDAR_WORDS | DURATION_WORDS | COMMON_WORDS | _CLOSERS | FUNCTION_WORDS
)
_PARTICLES = folded_words("de do da dos das del an der am im la los las upon on el ob y")
_PLACE_WORD = re.compile(r"\s*\(?([^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?)\)?(?![\d])")


def _place_words(text: str, pos: int, lowercase_ok: bool, *, strong: bool = False) -> int:
    """End of 1–6 place-name words starting at ``pos`` ("Bad Radkersburg", "Oliveira do Bairro").
    ``strong``: right after a postcode, a colonia cue or a comma, where common words are names too
    ("Nueva Gerona", "East Hampton", "vila nova de famalicão")."""
    end, words = pos, 0
    for m in _PLACE_WORD.finditer(text[pos:]):
        if m.start() != end - pos or "\n" in text[end : pos + m.start(1)]:
            break
        token = m.group(1)
        key = fold(token.rstrip("."))
        if key in _CLOSERS:
            break
        particle = key in _PARTICLES
        titled = token[:1].isupper()
        if (
            particle
            and (words == 0 or key == "y")
            and not ((strong or words > 0) and (_titled_next(text, pos + m.end()) or lowercase_ok))
        ):
            break  # "da Costa" after a postcode, "Trinidad y Tabago"; not "Madrid y mañana"
        after_particle = words > 0 and fold(text[pos:end].split()[-1]) in _PARTICLES
        if not particle and not titled and not after_particle:
            if strong and (lowercase_ok or words > 0 or not any(c.isupper() for c in text[pos:])):
                if key in _PLACE_BLOCK:
                    break
            elif not lowercase_ok or key in STOP_WORDS or key in NEVER_NAMES:
                break
        if not particle and titled and key in STOP_WORDS and words == 0 and not strong:
            break
        end = pos + m.end()
        words += 1
        if words >= 7:
            break
    # a trailing particle is not part of the name
    while end > pos and fold(text[pos:end].split()[-1]) in _PARTICLES:
        cut = text[pos:end].rstrip().rfind(" ")
        end = pos + cut if cut > 0 else pos
    return end if words and end > pos else pos


def _titled_next(text: str, pos: int) -> bool:
    rest = text[pos:].lstrip(" ")
    return rest[:1].isupper()


_SEP = re.compile(r"\s*\)?\s*,?\s*(?:[-/]\s*)?(?:(?i:in|en|em|na|no)\s+)?\(?")
_BARE_NUMBER = re.compile(r"\d{1,4}[A-Za-z]?(?![\w.,:/])")


def extend_address(text: str, end: int, lowercase_ok: bool) -> int:
    """Grow an address span over units, postcodes, states, a colonia and the city after it."""
    previous = "street"
    for _ in range(10):
        sep = _SEP.match(text, end)
        sep_end = sep.end() if sep else end
        gap = text[end:sep_end]
        if gap.count("\n") > 1:
            break
        listed = any(c in gap for c in ",\n-/")
        piece = ""
        for name, pattern in (("unit", _UNIT), ("postcode", _POSTCODE)):
            hit = pattern.match(text, sep_end)
            if hit and text[sep_end : hit.end()].strip():
                end, piece = hit.end(), name
                break
        if not piece:
            colonia = _COLONIA.match(text, sep_end)
            if colonia:
                place = _place_words(text, colonia.end(), lowercase_ok, strong=True)
                if place > colonia.end():
                    end, piece = place, "place"
        if not piece and previous == "street" and gap.strip(" ,") == "":
            hit = _BARE_NUMBER.match(text, sep_end)
            if hit:
                end, piece = hit.end(), "unit"
        if (not piece and previous in ("place", "postcode")) or (not piece and listed):
            state = _STATE.match(text, sep_end)
            lower = _STATE_ZIP_LOWER.match(text, sep_end)
            if state and (listed or previous == "place"):
                end, piece = state.end(), "state"
            elif lower and previous == "place" and lower.group(1).upper() in _US_STATES:
                end, piece = lower.end(), "state"
        if not piece:
            strong = previous == "postcode" or listed
            place = _place_words(text, sep_end, lowercase_ok or previous == "postcode", strong=strong)
            if place > sep_end and (
                strong or previous in ("place", "state") or text[sep_end].isupper() or lowercase_ok
            ):
                end, piece = place, "place"
        if not piece:
            break
        previous = piece
    return end


_EN_STREET_WORDS = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Terrace|Parkway|Pkwy\.?|"
    r"Highway|Hwy\.?|Court|Ct\.?|Crescent|Place|Pl\.?|Square|Gardens|Mews"
)
_DE_STREET = (
    r"[A-ZÄÖÜ][\w-]*(?:straße|strasse|str\.|allee|gasse)|(?:[A-ZÄÖÜ]\w+er|Alte|Neue|Große|Kleine|Obere|Untere)\s+"
    r"(?:Straße|Strasse|Str\.|Allee|Gasse|Weg|Platz)"
)


@cache
def _bare_patterns() -> dict[str, re.Pattern[str]]:
    strong = _with_plain([p for p in _prefixes() if fold(p) not in AMBIGUOUS_PREFIXES])
    weak = _with_plain([p.capitalize() for p in _prefixes() if fold(p) in AMBIGUOUS_PREFIXES and len(p) > 3])
    return {
        "romance": re.compile(rf"(?<![\w])(?i:{_alternation(strong)})\.?(?=\s)"),
        "romance_weak": re.compile(rf"(?<![\w])(?:{_alternation(weak)})(?=\s)"),
        "english": re.compile(rf"(?<![\w])(?:[A-Z][\w'’-]*\s+){{1,3}}(?:{_EN_STREET_WORDS})(?![\w])"),
        "english_lower": re.compile(rf"(?<![\w])(?:[a-z][\w'’-]*\s+){{1,2}}(?i:{_EN_STREET_WORDS})(?![\w])"),
        "german": re.compile(rf"(?<![\w])(?:{_DE_STREET})(?![\w])"),
        "german_lower": re.compile(rf"(?<![\w])(?i:{_DE_STREET})(?![\w])"),
    }


_LINK = re.compile(r"\s+(?:(?:de|del|da|do|das|dos|de\s+la|de\s+los|la|las|los|el)\s+)?")


def _street_name_end(text: str, pos: int, lowercase_ok: bool) -> int:
    """End of the 1–4 name words of a street whose type came before ("Calle | del Carmen")."""
    link = _LINK.match(text, pos)
    if link is None:
        return pos
    end, words = link.end(), 0
    for m in _PLACE_WORD.finditer(text, link.end()):
        if m.start() != end or "\n" in text[end : m.start(1)]:
            break
        token = m.group(1)
        key = fold(token.rstrip("."))
        if key in _PARTICLES and words:
            if not (_titled_next(text, m.end()) or lowercase_ok):
                break
        elif _ends_street_name(token, key, lowercase_ok):
            break
        end, words = m.end(), words + (key not in _PARTICLES)
        if words >= 4:
            break
    while end > link.end() and fold(text[link.end() : end].split()[-1]) in _PARTICLES:
        end = link.end() + text[link.end() : end].rstrip().rfind(" ")
    return end if words else pos


def _ends_street_name(token: str, key: str, lowercase_ok: bool) -> bool:
    if key in _CLOSERS or key in FUNCTION_WORDS:
        return True
    return not token[:1].isupper() and (not lowercase_ok or key in STOP_WORDS or key in NEVER_NAMES)


def streets_without_number(text: str, lowercase_ok: bool) -> list[tuple[int, int]]:
    """Streets named without a house number ("I live on Maple Street", "moro na Rua Augusta",
    "Lindenstr."): capitalised, or lower case after an address cue in an all-lower-case message."""
    spans: list[tuple[int, int]] = []
    for kind, pattern in _bare_patterns().items():
        lower = kind.endswith("_lower")
        if lower and not lowercase_ok:
            continue
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            cued = bool(_ADDRESS_CUE.search(text[max(0, start - 40) : start])) or start <= 4
            if kind.startswith("romance"):
                if kind == "romance_weak" and not cued:
                    continue  # "Plaza", "Largo", "Vila": everyday words unless an address cue
                end = _street_name_end(text, m.end(), lowercase_ok and cued)
                if end == m.end() or (kind == "romance_weak" and not text[end - 1 : end].isalpha()):
                    continue
            elif kind.startswith("english"):
                if _THE_BEFORE.search(text, 0, start):
                    continue  # "parking on the Main Road", "the Food Court"
                words = text[start:end].split()
                while len(words) > 1 and (fold(words[0]) in STOP_WORDS or fold(words[0]) in NEVER_NAMES):
                    start = text.index(words[1], start + len(words[0]))
                    words.pop(0)
                if len(words) < 2 or (lower and not cued):
                    continue
            elif lower and not cued:
                continue
            spans.append((start, end))
    return spans


class StreetAddressRecognizer(BaseRecognizer):
    """Street + number (+ unit + postcode + city) as one span; PO boxes."""

    ENTITY = "STREET_ADDRESS"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        lowercase_ok = not any(ch.isupper() for ch in text)
        found: list[RecognizerResult] = []
        patterns = _patterns()
        for kind, pattern in (*patterns.items(), ("pobox", _PO_BOX), ("military", _MILITARY)):
            for m in pattern.finditer(text):
                start = m.start()
                end = extend_address(text, m.end(), lowercase_ok)
                if kind == "romance_nonum" and not _POSTCODE_DIGITS.search(text, m.end(), end):
                    continue
                if kind.startswith("romance") and _not_a_street(text, m):
                    continue
                if (
                    kind == "romance_weak"
                    and not _ADDRESS_CUE.search(text[max(0, start - 40) : start])
                    and not _MARKED_NUMBER.search(m.group())
                    and end == m.end()
                ):
                    continue
                if kind == "german":
                    adj = m.group("adj")
                    if adj and (
                        fold(adj) in STOP_WORDS
                        or fold(adj) in NEVER_NAMES
                        or adj[0].islower() != lowercase_ok
                    ):
                        start = m.start("adj") + len(adj) + 1
                        start += len(text[start:]) - len(text[start:].lstrip())
                if kind == "german_place":
                    name = fold(m.group("name"))
                    if (
                        name in NEVER_NAMES
                        or name in STOP_WORDS
                        or (m.group("name")[0].islower() and not lowercase_ok)
                    ):
                        continue
                if not _plausible(text[start : m.end()], lowercase_ok):
                    continue
                start = _unit_before(text, start)
                found.append(result(self.ENTITY, start, end, 0.7, self))
        for start, end in streets_without_number(text, lowercase_ok):
            found.append(result(self.ENTITY, start, extend_address(text, end, lowercase_ok), 0.5, self))
        return found


_THE_BEFORE = re.compile(r"(?i:\bthe)\s+$")
_TIME_AFTER = re.compile(r"\s?(?i:h\b|hs\b|hrs?\b|uhr|am\b|pm\b|horas?\b|:\d)")
_NUMBER_PART = re.compile(
    r"(?i:\bn\.?\s?[º°o]\.?|\bno\.|\bnúm\.?|\bnum\.|\bnúmero|\bnr\.?)?\s*[\d#].*$|\s+s/n.*$", re.S
)
_TIME_NUMBER = re.compile(r"(?i:\bàs|\bas|\bum|\bat|\ba\s+las)\s+\d{1,2}h?$")
_LINK_WORDS = folded_words("de del da do das dos la las los el e y i")


def _not_a_street(text: str, m: re.Match[str]) -> bool:
    """A street word before a time ("Plaza Mayor a las 5", "Rua Nova às 10h")."""
    name = _NUMBER_PART.sub("", m.group())
    words = [w.strip(",.") for w in name.split()[1:] if not any(c in w for c in "º°#/")]
    if any(fold(w) in FUNCTION_WORDS and fold(w) not in _LINK_WORDS for w in words):
        return True
    return bool(_TIME_AFTER.match(text, m.end()) or _TIME_NUMBER.search(m.group()))


def _plausible(street: str, lowercase_ok: bool) -> bool:
    """Reject everyday phrases that only look like streets ("10 minute walk", "2 hours rest")."""
    words = street.split()
    if not words or not words[0][:1].isdigit():
        return True
    suffix = fold(words[-1].rstrip("."))
    if any(fold(w) in FUNCTION_WORDS and w.islower() and len(w) > 1 for w in words[1:-1]):
        return False  # "23 off the highway", "5 minutes from the station"
    if suffix not in AMBIGUOUS_SUFFIXES:
        return True
    inner = words[1:-1]
    if any(w.islower() and (fold(w) in NEVER_NAMES or fold(w) in STOP_WORDS) for w in inner):
        return False  # "a 10 minute walk"; capitalised names stay ("48 Mayo Place")
    return lowercase_ok or words[-1][:1].isupper() or any(w[:1].isupper() for w in inner)


_UNIT_BEFORE = re.compile(
    r"(?i:flat|apt|apartment|unit|suite|studio|ste|room|fl|floor)\.?\s*(?:#?\w{1,5},?\s*)?$"
)


def _unit_before(text: str, start: int) -> int:
    m = _UNIT_BEFORE.search(text[max(0, start - 20) : start])
    return start - (len(text[max(0, start - 20) : start]) - m.start()) if m else start
