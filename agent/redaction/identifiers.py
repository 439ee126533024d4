"""Fail-closed nets: anything shaped like an identifier, and dates of birth.

``IdentifierShapeRecognizer`` redacts every run of digit-bearing chunks (joined by spaces, dots,
dashes, slashes or parentheses) that holds six digits or more, or one long mixed letter-digit
chunk, whether or not a checksum agrees: a typo'd DNI, a fictional phone range or an unknown
passport format is still personal data. Validators only choose the type (card by Luhn and IIN,
IBAN by mod 97, phone by shape). What must survive (prices, times, appointment dates) is
recognised positively first and never joined into a run.

``DateOfBirthRecognizer`` takes a date next to a birth cue in es/pt/de/en, or a full date whose
year is two or more years in the past; appointment dates (this year and later) stay.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from stdnum import iban as std_iban

from agent.redaction.lexicon import LABEL_WORDS, NEVER_NAMES, STOP_WORDS
from agent.redaction.recognizers import BaseRecognizer, card_brand, luhn_ok, result
from textnorm import fold

Span = tuple[int, int]

_CURRENCY = r"(?:US\$|R\$|MX\$|[$€£]|EUR|USD|GBP|MXN|BRL|CHF)"
_CURRENCY_WORD = r"(?:€|\$|£|euros?|Euro|EUR|USD|GBP|pesos|reais|reales|d[oó]lares|dollars?|bucks|CHF)"
_PRICE = re.compile(
    rf"{_CURRENCY}\s?\d[\d.,']*(?:\s?(?:mil|k))?|\d[\d.,']*\s?{_CURRENCY_WORD}(?![A-Za-z])", re.IGNORECASE
)
_TIME = re.compile(
    r"(?<![\d.:])(?:[01]?\d|2[0-3])(?:[:h.]\d{2}|\s?(?:am|pm|a\.m\.|p\.m\.|uhr|(?-i:hs?)|hrs)(?![A-Za-z]))"
    r"(?:\s?(?:am|pm|uhr|h))?(?![\d])",
    re.IGNORECASE,
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_NUMERIC_DATE = re.compile(
    rf"(?<![\d./-])(?:{_DAY}([./-]){_DAY}(?:\1(\d{{4}}|\d{{2}}))?\.?|(\d{{4}})-(?:0?[1-9]|1[0-2])-{_DAY})(?![\d]|[./-]\d)"
)
_MONTHS = (
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    r"janeiro|fevereiro|março|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    r"januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember|"
    r"january|february|march|may|june|july|october|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|okt|nov|dec|dez|ene|abr|ago|dic|fev|mai|out"
)
_TEXT_DATE = re.compile(
    rf"(?<![\w])(?:{_DAY}(?:\.|º|st|nd|rd|th)?\s?(?:de\s+)?(?:{_MONTHS})\.?,?(?:\s?(?:de\s+)?(\d{{4}}|'\d{{2}}))?"
    rf"|(?:{_MONTHS})\.?\s{_DAY}(?:st|nd|rd|th)?,?(?:\s(\d{{4}}))?)(?![\w])",
    re.IGNORECASE,
)
_BIRTH_CUE = re.compile(
    r"(?<![\w])(?:nacimiento|naci|nací|nacid[oa]|nac\.|f\.\s?nac|fnac|cumpleaños|cumple|"
    r"nascimento|nasci|nascid[oa]|nasceu|nasc\.|aniversário|"
    r"geboren|geb\.|geburtsdatum|geburtstag|geb\.-datum|geburt|"
    r"born|birth|birthday|dob|d\.o\.b\.?|b-day|bday)",
    re.IGNORECASE,
)
_CHUNK = re.compile(r"[A-Za-z0-9]+")
_GAP = re.compile(r"\s?[-–—‑_./]\s?|\s|\s?\(|\)\s?|\s?\)\s?\(?|\s?\(0\)\s?")
_CHECK_LETTER = re.compile(
    r",?\s*(?:y\s+)?(?i:letra|letter|buchstabe|letra\s+de\s+control)\s+[A-Za-z](?![\w])"
)
_EXTENSION = re.compile(r"(?i:x|ext|extn|extension|ext\.|durchwahl|dw|ramal|anexo)")
_UNIT_SUFFIX = re.compile(
    r"^\d+(?:am|pm|h|hs|hrs|min|mins|ml|l|kg|g|mg|cm|mm|km|m|x|st|nd|rd|th|eur|usd|gb|mb|px|k)$",
    re.IGNORECASE,
)


def survivor_spans(text: str) -> list[Span]:
    """Prices, times and (appointment) dates: never part of an identifier run."""
    spans: list[Span] = []
    for pattern in (_PRICE, _TIME, _NUMERIC_DATE):
        spans.extend(m.span() for m in pattern.finditer(text))
    return spans


def _inside(pos: int, spans: Iterable[Span]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _two_digit_year(year: str) -> int:
    value = int(year.lstrip("'"))
    if len(year.lstrip("'")) == 4:
        return value
    pivot = dt.date.today().year % 100
    return 2000 + value if value <= pivot else 1900 + value


class IdentifierShapeRecognizer(BaseRecognizer):
    """Runs of digit-bearing chunks: redacted whatever their checksum; the type is a best guess."""

    ENTITY = "NATIONAL_ID"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        keep = survivor_spans(text)
        found: list[RecognizerResult] = []
        for start, end in self.runs(text, keep):
            letter = _CHECK_LETTER.match(text, end)  # "12345678, letra Z"
            end = letter.end() if letter else end
            found.append(result(self.classify(text[start:end]), start, end, 0.6, self))
        return found

    @staticmethod
    def runs(text: str, keep: list[Span]) -> list[Span]:
        chunks = [m for m in _CHUNK.finditer(text) if not _inside(m.start(), keep)]
        out: list[Span] = []
        group: list[re.Match[str]] = []

        def close() -> None:
            while (
                group
                and not any(ch.isdigit() for ch in group[-1].group())
                and not _end_letter(text, group)
                and not (_code_letters(group[-1].group()) and len(group) > 2)
            ):
                group.pop()
            while (
                group
                and not any(ch.isdigit() for ch in group[0].group())
                and not _short_letters(group[0])
                and not (_code_letters(group[0].group()) and len(group) > 1)
            ):
                group.pop(0)
            if group and _id_like(group):
                start, end = group[0].start(), group[-1].end()
                while start > 0 and text[start - 1] in "+(":
                    start -= 1
                out.append((start, end))
            group.clear()

        for chunk in chunks:
            word = chunk.group()
            joinable = (
                any(ch.isdigit() for ch in word)
                or _short_letters(chunk)
                or bool(_EXTENSION.fullmatch(word))
                or _code_letters(word)
            )
            if group and joinable and _GAP.fullmatch(text[group[-1].end() : chunk.start()]):
                group.append(chunk)
                continue
            close()
            if any(ch.isdigit() for ch in word) or _short_letters(chunk) or _code_letters(word):
                group.append(chunk)
        close()
        return out

    @staticmethod
    def classify(value: str) -> str:
        compact = re.sub(r"[^A-Za-z0-9]", "", value)
        digits = "".join(ch for ch in compact if ch.isdigit())
        if re.fullmatch(r"[A-Za-z]{2}\d{2}[A-Za-z0-9]{10,30}", compact) and (
            std_iban.is_valid(compact.upper()) or len(compact) >= 15
        ):
            return "IBAN_CODE"
        if compact.isdigit() and 12 <= len(digits) <= 19 and (luhn_ok(digits) or card_brand(digits)):
            return "CREDIT_CARD"
        if value.startswith(("+", "(")) or re.search(r"(?i)\d\s?(?:x|ext)", value):
            return "PHONE_NUMBER"
        if compact.isdigit() and 7 <= len(digits) <= 13 and re.search(r"[ ./()-]", value):
            return "PHONE_NUMBER"
        return "NATIONAL_ID"


def _short_letters(chunk: re.Match[str]) -> bool:
    """One or two letters that may belong to an id ("X 1234567 L", "QQ 12 34 56 C"), not a word."""
    word = chunk.group()
    return len(word) <= 2 and word.isalpha() and (word.isupper() or word not in STOP_WORDS)


def _end_letter(text: str, group: list[re.Match[str]]) -> bool:
    """A closing id letter: upper case, or lower case joined by a dash or ending the sentence."""
    last = group[-1]
    if not _short_letters(last) or len(group) < 2:
        return False
    if last.group().isupper() or text[group[-2].end() : last.start()].strip() in ("-", "/", "."):
        return True
    rest = text[last.end() :].lstrip()
    return not rest or not rest[0].isalnum()


_ICAO_LETTERS = frozenset("CFGHJKLMNPRTVWXYZ")


def _code_letters(word: str) -> bool:
    """Upper-case letters of a document number, not a word: three of them ("PAA", "CHN") or a run
    of the vowel-free ICAO letters German documents use ("GVNCFMNWM")."""
    if not word.isalpha() or not word.isupper() or fold(word) in LABEL_WORDS or fold(word) in NEVER_NAMES:
        return False
    return len(word) == 3 or (4 <= len(word) <= 10 and set(word) <= _ICAO_LETTERS)


def _id_like(group: list[re.Match[str]]) -> bool:
    digits = sum(ch.isdigit() for m in group for ch in m.group())
    if digits >= 6:
        return True
    alnum = sum(len(m.group()) for m in group)
    with_digits = sum(any(ch.isdigit() for ch in m.group()) for m in group)
    letters = alnum - digits
    if (
        alnum >= 8
        and digits
        and letters
        and (with_digits >= 2 or any(_code_letters(m.group()) for m in group))
    ):
        return True  # "L5L 8N5 1NK 9", "GVNCFMNWM 8D": a document number typed in groups
    for m in group:
        word = m.group()
        d = sum(ch.isdigit() for ch in word)
        if len(word) >= 6 and d >= 3 and d < len(word) and not _UNIT_SUFFIX.match(word):
            return True
        if (
            len(word) >= 8
            and 0 < d < len(word)
            and (word.isupper() or d >= 2)
            and not _UNIT_SUFFIX.match(word)
        ):
            return True  # "LTYLMKXRW1D", "cv2vk1tfk": an id card or passport number
    return False


class DateOfBirthRecognizer(BaseRecognizer):
    """A date next to a birth cue (es/pt/de/en), or a full date at least two years in the past."""

    ENTITY = "DATE_OF_BIRTH"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        cues = [m.span() for m in _BIRTH_CUE.finditer(text)]
        this_year = dt.date.today().year
        found: list[RecognizerResult] = []
        for pattern in (_NUMERIC_DATE, _TEXT_DATE):
            for m in pattern.finditer(text):
                groups = (m.group(2), m.group(3)) if pattern is _NUMERIC_DATE else (m.group(1), m.group(2))
                year_text = groups[0] or groups[1]
                year = _two_digit_year(year_text) if year_text else None
                cued = any(
                    (ce <= m.start() and m.start() - ce <= 40) or 0 <= cs - m.end() <= 25 for cs, ce in cues
                )
                if cued or (year is not None and 1900 <= year <= this_year - 2):
                    found.append(result(self.ENTITY, m.start(), m.end(), 0.85 if cued else 0.6, self))
        return found


_DOCUMENT_CUE = re.compile(
    r"(?<![\w])(?i:personalausweis\w*|ausweis\w*|perso|reisepass\w*|pass(?:nummer|nr|port)?|pasaporte|passaporte|"
    r"dni|nie|nif|documento(?:\s+de\s+identidad)?|id(?:\s?card)?|pp|tarjeta\s+de\s+residencia|"
    r"cart[aã]o\s+de\s+cidad[aã]o|identidade|rg)"
    r"(?:\s*(?i:-?nr\.?|-?nummer|no\.?|nº|n\.º|number|número|numero|num\.?|#|:|is|es|é|ist|lautet|de|do|da|des|of|"
    r"mein\w*|my|mi|meu))*\s*[:#]?\s*"
)
_DOC_CHUNK = re.compile(r"[A-Za-z0-9]{1,12}")
_DOC_GAP = re.compile(r"[ .-]{1,3}")


class DocumentNumberRecognizer(BaseRecognizer):
    """The value after a document cue ("Ausweis", "pasaporte", "DNI", "passport no."), in any case
    and however it is grouped ("zgg kfl cl4 2", "x-1234567-l"): chunks of letters and digits that
    hold a digit, 6 to 16 characters in all, stopping at a word of the language."""

    ENTITY = "NATIONAL_ID"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for cue in _DOCUMENT_CUE.finditer(text):
            span = self.value_after(text, cue.end())
            if span is not None:
                found.append(result(self.ENTITY, span[0], span[1], 0.7, self))
        return found

    @staticmethod
    def value_after(text: str, pos: int) -> Span | None:
        chunks: list[re.Match[str]] = []
        at = pos
        while len(chunks) < 5:
            chunk = _DOC_CHUNK.match(text, at)
            if chunk is None or (chunk.end() < len(text) and text[chunk.end()].isalnum()):
                break
            word = chunk.group()
            camel = any(ch.isupper() for ch in word[1:]) and not word.isupper()  # "mWGGV"
            if (
                not any(ch.isdigit() for ch in word)
                and not camel
                and (len(word) > 4 or fold(word) in STOP_WORDS or fold(word) in NEVER_NAMES)
            ):
                break
            chunks.append(chunk)
            gap = _DOC_GAP.match(text, chunk.end())
            if gap is None or (
                gap.group().strip(" ") == "." and not text[gap.end() : gap.end() + 1].isalnum()
            ):
                break
            at = gap.end()
        while chunks and not any(ch.isdigit() for ch in chunks[-1].group()) and len(chunks[-1].group()) > 1:
            chunks.pop()
        alnum = sum(len(c.group()) for c in chunks)
        if not chunks or not 6 <= alnum <= 16 or not any(ch.isdigit() for c in chunks for ch in c.group()):
            return None
        return chunks[0].start(), chunks[-1].end()
