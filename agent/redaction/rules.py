"""A tenant's own redaction rules, the Presidio way: extra ``PatternRecognizer``s, a deny list
(staff names: always redacted), an allow list (the brand's words: never redacted) and Presidio's
predefined pattern recognizers switched on by name.

Stored in the tenant's settings under ``"redaction"``; validated when written (the regex compiles,
matches no empty string and has no nested unbounded quantifier, so it cannot backtrack
catastrophically) and compiled once per distinct rule set (``compile_rules`` is cached), so the
hot path only runs them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from errors import UserError
from textnorm import fold

if TYPE_CHECKING:  # presidio (and spaCy behind it) load only where rules are compiled: the workers
    from presidio_analyzer import EntityRecognizer

try:  # Python 3.11+: the regex parser lives in re._parser
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

log = logging.getLogger(__name__)

MAX_PATTERNS = 50
MAX_WORDS = 500
_ENTITY = re.compile(r"[A-Z][A-Z_]{1,40}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}")
_PROBES = ("", " ", "a" * 64, "1" * 64, "A1-" * 30, "hola, mi número es 12345678Z gracias")


class RuleError(UserError):
    """A rule an operator gave is not acceptable (the message says why, never the text redacted)."""


_PRESIDIO_NAMES = """AbaRoutingRecognizer AuAbnRecognizer AuAcnRecognizer AuMedicareRecognizer AuTfnRecognizer
    CaPostalCodeRecognizer CaSinRecognizer CreditCardRecognizer CryptoRecognizer DateRecognizer
    DeBsnrRecognizer DeFuehrerscheinRecognizer DeHandelsregisterRecognizer DeHealthInsuranceRecognizer
    DeIdCardRecognizer DeKfzRecognizer DeLanrRecognizer DePassportRecognizer DePlzRecognizer
    DeSocialSecurityRecognizer DeTaxIdRecognizer DeTaxNumberRecognizer DeVatIdRecognizer EmailRecognizer
    EsNieRecognizer EsNifRecognizer EsPassportRecognizer FiPersonalIdentityCodeRecognizer IbanRecognizer
    InAadhaarRecognizer InGstinRecognizer InPanRecognizer InPassportRecognizer
    InVehicleRegistrationRecognizer InVoterRecognizer IpRecognizer ItDriverLicenseRecognizer
    ItFiscalCodeRecognizer ItIdentityCardRecognizer ItPassportRecognizer ItVatCodeRecognizer
    KrBrnRecognizer KrDriverLicenseRecognizer KrFrnRecognizer KrPassportRecognizer KrRrnRecognizer
    MacAddressRecognizer MedicalLicenseRecognizer NgNinRecognizer NgVehicleRegistrationRecognizer
    NhsRecognizer PhPassportRecognizer PhTinRecognizer PhUmidRecognizer PlPeselRecognizer
    SeOrganisationsnummerRecognizer SePersonnummerRecognizer SgFinRecognizer SgUenRecognizer
    ThTninRecognizer TrLicensePlateRecognizer TrNationalIdRecognizer UkDrivingLicenceRecognizer
    UkNinoRecognizer UkPassportRecognizer UkPostcodeRecognizer UkVehicleRegistrationRecognizer
    UrlRecognizer UsBankRecognizer UsClaimNumberRecognizer UsHealthInsuranceMemberIdRecognizer
    UsItinRecognizer UsLicenseRecognizer UsMbiRecognizer UsNpiRecognizer UsPassportRecognizer
    UsPrescriptionNumberRecognizer UsPriorAuthorizationNumberRecognizer UsProviderTaxIdRecognizer
    UsReferralNumberRecognizer UsSsnRecognizer UuidRecognizer ZaCompanyRegistrationRecognizer
    ZaDriverLicenseRecognizer ZaIdNumberRecognizer ZaIncomeTaxNumberRecognizer ZaLicensePlateRecognizer
    ZaPassportRecognizer ZaTrafficRegisterNumberRecognizer ZaVatNumberRecognizer"""
PRESIDIO_RECOGNIZERS: tuple[str, ...] = tuple(_PRESIDIO_NAMES.split())
"""Presidio's predefined pattern recognizers that can be switched on by name (a test keeps this
list equal to the installed presidio-analyzer's)."""


def predefined_names() -> tuple[str, ...]:
    return PRESIDIO_RECOGNIZERS


def check_regex(regex: str) -> re.Pattern[str]:
    """Compile ``regex`` or raise :class:`RuleError`: it must compile, match no empty string and
    nest no unbounded quantifier inside another (``(a+)+``: catastrophic backtracking)."""
    if not regex or len(regex) > 500:
        raise RuleError("regex must be 1 to 500 characters")
    try:
        compiled = re.compile(regex)
        parsed = sre_parse.parse(regex)
    except re.error as exc:
        raise RuleError(f"regex does not compile: {exc.msg} at position {exc.pos}") from None
    if _nested_repeat(parsed, inside=False):
        raise RuleError("regex nests an unbounded repeat inside another (catastrophic backtracking)")
    if compiled.fullmatch("") is not None or compiled.search("") is not None:
        raise RuleError("regex matches the empty string")
    for probe in _PROBES:
        if any(m.end() == m.start() for m in compiled.finditer(probe)):
            raise RuleError("regex can match an empty string")
    return compiled


def _nested_repeat(items: Any, *, inside: bool) -> bool:
    repeats = {
        sre_constants.MAX_REPEAT,
        sre_constants.MIN_REPEAT,
        getattr(sre_constants, "POSSESSIVE_REPEAT", None),
    }
    for op, arg in items:
        children: list[Any] = []
        nested = inside
        if op in repeats:
            _low, high, sub = arg
            unbounded = high == sre_constants.MAXREPEAT or high > 100
            if unbounded and inside:
                return True
            children, nested = [sub], inside or unbounded
        elif op == sre_constants.SUBPATTERN:
            children = [arg[-1]]
        elif op == sre_constants.BRANCH:
            children = list(arg[1])
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            children = [arg[1]]
        if any(_nested_repeat(child, inside=nested) for child in children):
            return True
    return False


class PatternRule(BaseModel):
    """One extra recognizer: a regex, its score and the entity it names (``PATIENT_ID``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    regex: str
    entity: str
    score: float = Field(default=0.8, ge=0.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("name: letters, digits, space, dot, dash or underscore, at most 60")
        return value

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str) -> str:
        if not _ENTITY.fullmatch(value):
            raise ValueError("entity: capital letters and underscores, e.g. PATIENT_ID")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            check_regex(value)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return value


SETTING = "redaction"
"""The key of ``tenants.settings`` that holds a tenant's :class:`RedactionRules`."""


class RedactionRules(BaseModel):
    """A tenant's redaction settings (``tenants.settings["redaction"]``)."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[PatternRule] = Field(default_factory=list[PatternRule], max_length=MAX_PATTERNS)
    deny: list[str] = Field(default_factory=list[str], max_length=MAX_WORDS)
    """Names always redacted (staff the customer may name)."""
    allow: list[str] = Field(default_factory=list[str], max_length=MAX_WORDS)
    """Words and phrases never redacted (the brand's own words)."""
    enabled: list[str] = Field(default_factory=list[str])
    """Presidio predefined recognizers run as well, by class name (``UsSsnRecognizer``)."""

    @field_validator("deny", "allow")
    @classmethod
    def _words(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v or len(v) > 100 for v in cleaned):
            raise ValueError("each entry must be 1 to 100 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("enabled")
    @classmethod
    def _enabled(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in predefined_names()]
        if unknown:
            raise ValueError(f"unknown Presidio recognizer {unknown[0]!r} (see predefined_names())")
        return list(dict.fromkeys(values))

    @classmethod
    def checked(cls, data: Any) -> RedactionRules:
        """Validate ``data``; :class:`RuleError` with the first problem in one line."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise RuleError(f"{where}: {first['msg']}".removeprefix(": ")) from None

    def key(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """What the hot path runs for one tenant."""

    recognizers: tuple[EntityRecognizer, ...]
    deny: tuple[str, ...]
    allow: frozenset[str]
    """Folded allow-list phrases (a result whose text is one of them is dropped)."""
    allow_words: frozenset[str]
    """Folded words of the allow list (never taken for a name)."""


EMPTY = CompiledRules((), (), frozenset(), frozenset())


def compile_rules(rules: RedactionRules | dict[str, Any] | None) -> CompiledRules:
    """The tenant's recognizers, built once per distinct rule set (cached on its content)."""
    if not rules:
        return EMPTY
    if isinstance(rules, RedactionRules):
        return (
            _compile(rules.key()) if rules.patterns or rules.deny or rules.allow or rules.enabled else EMPTY
        )
    return _compile_stored(json.dumps(rules, sort_keys=True, default=str))


@lru_cache(maxsize=256)
def _compile_stored(raw: str) -> CompiledRules:
    """Stored rules that no longer validate are skipped whole (logged without their content)
    rather than breaking every turn of the tenant."""
    try:
        rules = RedactionRules.checked(json.loads(raw))
    except RuleError as exc:
        log.warning("tenant redaction rules ignored: %s", type(exc).__name__)
        return EMPTY
    return compile_rules(rules)


@lru_cache(maxsize=256)
def _compile(key: str) -> CompiledRules:
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer import predefined_recognizers as presidio_predefined

    from agent.redaction.recognizers import REGISTRY_LANGUAGE

    rules = RedactionRules.model_validate_json(key)
    recognizers: list[EntityRecognizer] = [
        PatternRecognizer(
            supported_entity=p.entity,
            name=f"tenant:{p.name}",
            patterns=[Pattern(p.name, p.regex, p.score)],
            supported_language=REGISTRY_LANGUAGE,
            global_regex_flags=re.MULTILINE,
        )
        for p in rules.patterns
    ]
    for name in rules.enabled:
        cls = getattr(presidio_predefined, name)
        recognizers.append(cls(supported_language=REGISTRY_LANGUAGE))
    allow = frozenset(fold(a) for a in rules.allow)
    words = frozenset(fold(w) for a in rules.allow for w in a.split())
    return CompiledRules(tuple(recognizers), tuple(rules.deny), allow, words)


# --- edits (the CLI and the API apply them to the stored settings) ---------------------------


def rules_of(settings: dict[str, Any] | None) -> RedactionRules:
    """The stored rules of a tenant's settings (``RuleError`` if they no longer validate)."""
    return RedactionRules.checked((settings or {}).get(SETTING) or {})


def add_pattern(rules: RedactionRules, name: str, regex: str, entity: str, score: float) -> RedactionRules:
    """``rules`` with the pattern ``name`` added (or replaced)."""
    try:
        rule = PatternRule(name=name, regex=regex, entity=entity, score=score)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RuleError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    patterns = [p for p in rules.patterns if p.name != name] + [rule]
    return RedactionRules.checked(
        {**rules.model_dump(mode="json"), "patterns": [p.model_dump() for p in patterns]}
    )


def change_list(
    rules: RedactionRules, field: str, values: list[str], *, remove: bool = False
) -> RedactionRules:
    """``rules`` with ``values`` added to (or removed from) ``deny``, ``allow`` or ``enabled``."""
    if field not in ("deny", "allow", "enabled"):
        raise RuleError(f"unknown list {field!r}")
    current: list[str] = list(getattr(rules, field))
    if remove:
        gone = {fold(v) for v in values}
        current = [v for v in current if fold(v) not in gone]
    else:
        current += values
    return RedactionRules.checked({**rules.model_dump(mode="json"), field: current})


def remove_pattern(rules: RedactionRules, name: str) -> RedactionRules:
    if all(p.name != name for p in rules.patterns):
        raise RuleError(f"no pattern named {name!r}")
    return rules.model_copy(update={"patterns": [p for p in rules.patterns if p.name != name]})
