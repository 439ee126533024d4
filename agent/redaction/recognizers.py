"""Structured-identifier recognizers: email, phone, IBAN, payment card, national ids.

Each is a presidio-analyzer ``EntityRecognizer`` that finds candidates with a regular expression
and confirms them with a validator (phonenumbers, Luhn, python-stdnum, ICAO check digits), so
they run on every message whatever its language. Regexes are case-sensitive where case carries
meaning (IBAN, ids), which avoids Presidio's IGNORECASE registry flag and its IBAN miss.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

import phonenumbers
from phonenumbers import NumberParseException
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from stdnum import iban as std_iban
from stdnum.br import cnpj, cpf
from stdnum.de import idnr
from stdnum.es import nie, nif
from stdnum.mx import curp, rfc
from stdnum.pt import nif as pt_nif

REGISTRY_LANGUAGE = "en"
"""All recognizers live under one language key; language only steers the name heuristics."""

PHONE_REGIONS: tuple[str, ...] = ("ES", "MX", "PT", "BR", "DE", "US", "GB", "AR", "CO", "FR", "IT")


def result(entity: str, start: int, end: int, score: float, recognizer: EntityRecognizer) -> RecognizerResult:
    """A presidio result carrying the recognizer's name (never the matched value)."""
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class BaseRecognizer(EntityRecognizer):
    """A recognizer of one entity type that needs no NLP artifacts.

    Class names must differ from presidio's own: its registry loader looks recognizer classes
    up by name among all ``EntityRecognizer`` subclasses, so a ``PhoneRecognizer`` here would
    break every default ``AnalyzerEngine`` in the process.
    """

    ENTITY: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], supported_language=REGISTRY_LANGUAGE)

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        raise NotImplementedError


class _RegexValidatedRecognizer(BaseRecognizer):
    """Candidates from ``PATTERN``; kept when ``validate(candidate)`` is true."""

    PATTERN: ClassVar[re.Pattern[str]]
    SCORE: ClassVar[float] = 0.9

    def validate(self, candidate: str) -> bool:
        raise NotImplementedError

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.PATTERN.finditer(text):
            if self.validate(match.group()):
                yield match.start(), match.end()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [result(self.ENTITY, s, e, self.SCORE, self) for s, e in self.spans(text)]


class EmailAddressRecognizer(_RegexValidatedRecognizer):
    """E-mail addresses (no public-suffix lookup, so nothing is fetched)."""

    ENTITY = "EMAIL_ADDRESS"
    PATTERN = re.compile(
        r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
    )

    def validate(self, candidate: str) -> bool:
        return ".." not in candidate


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """Brand by IIN range and length (Visa incl. 19 digits, Mastercard 2-series, Amex, Maestro…)."""
    n = len(number)
    two, four = int(number[:2]), int(number[:4])
    if number[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if (number.startswith(("6011", "65")) or 644 <= int(number[:3]) <= 649) and 16 <= n <= 19:
        return "discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (two == 50 or 56 <= two <= 69) and 12 <= n <= 19:
        return "maestro"
    if two in (36, 38, 39) or 300 <= int(number[:3]) <= 305:
        return "diners" if 14 <= n <= 19 else None
    if number.startswith("62") and 16 <= n <= 19:
        return "unionpay"
    return None


class PaymentCardRecognizer(_RegexValidatedRecognizer):
    """Payment cards: 12–19 digits in groups, a known brand range and a valid Luhn digit."""

    ENTITY = "CREDIT_CARD"
    PATTERN = re.compile(r"(?<![\d.,/-])\d(?:[ -]?\d){11,18}(?![\d/]|[.,]\d)")

    def validate(self, candidate: str) -> bool:
        number = digits_of(candidate)
        return 12 <= len(number) <= 19 and card_brand(number) is not None and luhn_ok(number)


class IbanCodeRecognizer(BaseRecognizer):
    """IBANs validated by ISO 7064 mod 97, trimmed to the longest valid prefix of the candidate."""

    ENTITY = "IBAN_CODE"
    PATTERN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){10,32}")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for match in self.PATTERN.finditer(text):
            end = self._valid_end(match.group())
            if end:
                found.append(result(self.ENTITY, match.start(), match.start() + end, 1.0, self))
        return found

    @staticmethod
    def _valid_end(candidate: str) -> int:
        # The candidate may run into a following word ("ES91…1332 mañana"): try shorter prefixes.
        cut = len(candidate)
        while cut >= 14:
            prefix = candidate[:cut].rstrip(" -")
            if std_iban.is_valid(prefix.upper()):
                return len(prefix)
            cut = len(prefix) - 1
        return 0


class PhoneNumberRecognizer(BaseRecognizer):
    """Phone numbers in national or international format for ``PHONE_REGIONS`` (phonenumbers)."""

    ENTITY = "PHONE_NUMBER"
    PATTERN = re.compile(r"(?<![\w+/.,:-])(?:\+|00)?\(?\d(?:[ ().-]{0,3}\d){6,16}(?![\w/]|[.,:]\d)")
    _DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")

    def __init__(self, regions: Sequence[str] = PHONE_REGIONS) -> None:
        self.regions = tuple(regions)
        super().__init__()

    def is_phone(self, candidate: str) -> bool:
        digits = digits_of(candidate)
        if not 7 <= len(digits) <= 15 or self._DATE_LIKE.match(candidate.strip()):
            return False
        stripped = candidate.lstrip("(")
        if stripped.startswith(("+", "00")):
            international = "+" + stripped[2:] if stripped.startswith("00") else stripped
            return self._valid(international, None)
        return any(self._valid(candidate, region) for region in self.regions)

    @staticmethod
    def _valid(candidate: str, region: str | None) -> bool:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            return False
        return phonenumbers.is_valid_number(number)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for match in self.PATTERN.finditer(text):
            start, end = match.start(), match.end()
            candidate = match.group()
            if candidate.startswith("(") and ")" not in candidate:
                start, candidate = start + 1, candidate[1:]
            if self.is_phone(candidate):
                found.append(result(self.ENTITY, start, end, 0.8, self))
        return found


def _icao_check(value: str) -> bool:
    """ICAO 9303 check digit (weights 7, 3, 1) on the first 8 characters against the 9th."""
    total = 0
    for i, ch in enumerate(value[:8]):
        v = int(ch) if ch.isdigit() else ord(ch) - 55
        total += v * (7, 3, 1)[i % 3]
    return total % 10 == int(value[8])


_IdCheck = Callable[[str], bool]


class NationalIdRecognizer(BaseRecognizer):
    """National and tax ids confirmed by their check digits (python-stdnum), any language.

    MX CURP and RFC, BR CPF and CNPJ, ES DNI/NIF and NIE, PT NIF, DE tax id (IdNr) and the
    DE identity card number. The kind found is kept in the result's metadata as ``id_kind``.
    """

    ENTITY = "NATIONAL_ID"
    CHECKS: ClassVar[tuple[tuple[str, re.Pattern[str], _IdCheck], ...]] = (
        (
            "MX_CURP",
            re.compile(r"(?<![A-Za-z0-9])[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d(?![A-Za-z0-9])"),
            curp.is_valid,
        ),
        (
            "MX_RFC",
            re.compile(r"(?<![A-Za-z0-9])[A-ZÑ&]{3,4}-?\d{6}-?[A-Z0-9]{3}(?![A-Za-z0-9])"),
            lambda v: rfc.is_valid(v.replace("-", ""), validate_check_digits=True),
        ),
        (
            "BR_CNPJ",
            re.compile(r"(?<![\d./-])\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?![\d/])"),
            cnpj.is_valid,
        ),
        ("BR_CPF", re.compile(r"(?<![\d./-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d/])"), cpf.is_valid),
        (
            "ES_NIE",
            re.compile(r"(?<![A-Za-z0-9])[XYZxyz][ -]?\d{7}[ -]?[A-Za-z](?![A-Za-z0-9])"),
            lambda v: nie.is_valid(v.upper()),
        ),
        (
            "ES_NIF",
            re.compile(r"(?<![A-Za-z0-9.])\d{2}\.?\d{3}\.?\d{3}[ -]?[A-Za-z](?![A-Za-z0-9])"),
            lambda v: nif.is_valid(v.upper()),
        ),
        (
            "DE_TAX_ID",
            re.compile(r"(?<![\d.,/-])\d{2} ?\d{3} ?\d{3} ?\d{3}(?![\d/])"),
            idnr.is_valid,
        ),
        ("PT_NIF", re.compile(r"(?<![\d.,/-])[1235689]\d{2} ?\d{3} ?\d{3}(?![\d/])"), pt_nif.is_valid),
        (
            "DE_ID_CARD",
            re.compile(r"(?<![A-Za-z0-9])[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{7}\d(?![A-Za-z0-9])"),
            _icao_check,
        ),
    )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for kind, pattern, check in self.CHECKS:
            for match in pattern.finditer(text):
                value = match.group()
                if kind == "DE_ID_CARD" and not any(ch.isdigit() for ch in value[:8]):
                    continue  # an all-letter word plus a digit is not an id card number
                if check(value):
                    hit = result(self.ENTITY, match.start(), match.end(), 1.0, self)
                    hit.recognition_metadata["id_kind"] = kind
                    found.append(hit)
        return found


def structured_recognizers() -> list[BaseRecognizer]:
    """The recognizers that run on every message whatever its language."""
    return [
        EmailAddressRecognizer(),
        NationalIdRecognizer(),
        PaymentCardRecognizer(),
        IbanCodeRecognizer(),
        PhoneNumberRecognizer(),
    ]
