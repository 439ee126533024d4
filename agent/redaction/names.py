"""Person-name recognizers: cue phrases, names the conversation knows, a gazetteer, spaCy NER.

English NER alone misses many es/pt/de and lower-case names and tags greetings, so it is one
signal among several, and it only runs on messages where a capitalised word is left unexplained.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from agent.redaction.lexicon import (
    GERMAN_CUES,
    GERMAN_DETERMINERS,
    NAME_PARTICLES,
    NEVER_NAMES,
    NEVER_SURNAMES,
    SIGN_OFFS,
    STRONG_CUES,
    TITLES,
    WEAK_CUES,
    first_names,
    is_frequent,
    is_known_word,
    looks_german,
    surnames,
)
from agent.redaction.recognizers import REGISTRY_LANGUAGE, result
from textnorm import fold

PERSON = "PERSON"
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?", re.UNICODE)
_SENTENCE_END = ".!?¿¡\n:;"


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the message with its offsets; ``key`` is folded for look-ups."""

    text: str
    start: int
    end: int
    key: str
    initial: bool  # first word of a sentence

    @property
    def titled(self) -> bool:
        return self.text[:1].isupper()

    @property
    def lower(self) -> bool:
        return self.text.islower()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    prev_end = 0
    for match in _TOKEN.finditer(text):
        word = match.group().rstrip(".")
        gap = text[prev_end : match.start()]
        initial = not tokens or any(ch in _SENTENCE_END for ch in gap)
        tokens.append(Token(word, match.start(), match.start() + len(word), fold(word), initial))
        prev_end = match.start() + len(word)
    return tokens


def in_names(key: str, names: frozenset[str]) -> bool:
    """A listed name, or a hyphenated compound of listed names ("ivonne-almuth")."""
    return key in names or ("-" in key and all(part in names for part in key.split("-") if part))


def _joined(text: str, left: Token, right: Token) -> bool:
    """Two tokens are parts of one name when only spaces (or a hyphen) separate them."""
    gap = text[left.end : right.start]
    return len(gap) <= 2 and gap.strip(" -") == ""


def name_like(token: Token, blocked: Collection[str]) -> bool:
    key = token.key
    return (
        len(key) >= 2
        and key not in NEVER_NAMES
        and key not in blocked
        and key not in TITLES
        and not any(ch.isdigit() for ch in key)
    )


def extend_name(
    text: str, tokens: list[Token], i: int, blocked: Collection[str], lowercase_ok: bool, greedy: bool = False
) -> int:
    """Index one past the last token of a name starting at ``tokens[i]``.

    Capitalised words continue a name unless they are calendar or greeting words ("Manuel
    Bueno" is a name, "Ana Martes" is not); lower-case words continue it when they are census
    names, or any name-like word after a cue (``greedy``) when the name itself is lower case.
    """
    j = i + 1
    while j < len(tokens) and j - i < 5 and _joined(text, tokens[j - 1], tokens[j]):
        tok = tokens[j]
        if tok.titled and not tok.initial:
            if tok.key in NEVER_SURNAMES or tok.key in blocked or tok.key in TITLES or len(tok.key) < 2:
                break
            j += 1
            continue
        if tok.key in NAME_PARTICLES:
            k = j
            while (
                k < len(tokens)
                and tokens[k].key in NAME_PARTICLES
                and _joined(text, tokens[k - 1], tokens[k])
            ):
                k += 1
            if k < len(tokens) and _joined(text, tokens[k - 1], tokens[k]):
                nxt = tokens[k]
                if name_like(nxt, blocked) and (
                    nxt.titled or in_names(nxt.key, surnames()) or (greedy and lowercase_ok)
                ):
                    j = k + 1
                    continue
            break
        if not name_like(tok, blocked) or tok.titled:
            break
        if (greedy and lowercase_ok) or (
            (lowercase_ok or tok.lower)
            and (in_names(tok.key, surnames()) or in_names(tok.key, first_names()))
        ):
            j += 1
        else:
            break
    return j


def _cue_regex(cues: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(c) for c in cues}, key=len, reverse=True)
    return re.compile(rf"(?<![\w])(?:{'|'.join(alternatives)})(?=[\s,]|$)", re.IGNORECASE)


_STRONG = _cue_regex(STRONG_CUES)
_WEAK = _cue_regex(WEAK_CUES)


class _NameRecognizer(EntityRecognizer):
    SCORE = 0.8

    def __init__(self) -> None:
        super().__init__(supported_entities=[PERSON], supported_language=REGISTRY_LANGUAGE)

    def load(self) -> None:
        """Word lists load lazily on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return self.find(text, tokenize(text), frozenset())

    def find(self, text: str, tokens: list[Token], blocked: Collection[str]) -> list[RecognizerResult]:
        raise NotImplementedError


class CueNameRecognizer(_NameRecognizer):
    """Names after "me llamo", "soy", "ich heiße", "meu nome é", "my name is", "para", …"""

    def find(self, text: str, tokens: list[Token], blocked: Collection[str]) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        by_start = {t.start: k for k, t in enumerate(tokens)}
        for strong, pattern in ((True, _STRONG), (False, _WEAK)):
            for match in pattern.finditer(text):
                k = self._next_token(text, tokens, by_start, match.end())
                if k is None:
                    continue
                titled_by = k
                while k < len(tokens) and tokens[k].key in TITLES:
                    k += 1
                if k >= len(tokens):
                    continue
                first = tokens[k]
                if not name_like(first, blocked) and not (
                    strong and first.titled and first.key not in NEVER_SURNAMES and first.key not in blocked
                ):
                    continue
                if not strong and not (
                    (first.titled and first.key not in NEVER_NAMES) or first.key in first_names()
                ):
                    continue
                if (
                    match.group().casefold() in GERMAN_CUES
                    and k == titled_by
                    and first.key not in first_names()
                    and not _capital_follows(text, tokens, k, blocked)
                ):
                    continue
                end = extend_name(text, tokens, k, blocked, lowercase_ok=first.lower, greedy=True)
                hit = result(PERSON, first.start, tokens[end - 1].end, self.SCORE, self)
                if not strong:
                    hit.recognition_metadata["weak_cue"] = True
                found.append(hit)
        return found

    @staticmethod
    def _next_token(text: str, tokens: list[Token], by_start: dict[int, int], pos: int) -> int | None:
        while pos < len(text) and text[pos] in " ,:\t":
            pos += 1
        return by_start.get(pos)


_SIGN_OFF = re.compile(
    rf"(?<![\w])(?:{'|'.join(sorted((re.escape(c) for c in SIGN_OFFS), key=len, reverse=True))})"
    r"(?:\s+(?:so\s+much|again|a\s+lot|muito|mil|vielmals|schön))?[\s,.!:;]*(?:\n|$|(?=\S))",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[\s.,!?;:)(\-~*❤️🙏😊👍🙂😉]*")
# German nouns that are also titles ("meine Frau kommt mit"): a name after them must be capitalised.
_NOUN_TITLES = frozenset({"frau", "herr", "herrn", "don", "dona"})


class TitleSignOffRecognizer(_NameRecognizer):
    """Names after a title ("lic. Pérez", "Frau Dr. Krebs", "mr gallegos") or closing a message
    after a sign-off ("Saludos,\nmaría lópez", "lg Nikolas"), or alone on the last line."""

    SCORE = 0.8

    def find(
        self, text: str, tokens: list[Token], blocked: Collection[str], lang: str = "en"
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        lowercase_text = not any(ch.isupper() for ch in text)
        for k, tok in enumerate(tokens[:-1]):
            if tok.key not in TITLES:
                continue
            j = k + 1
            while j < len(tokens) and tokens[j].key in TITLES and _title_gap(text, tokens[j - 1], tokens[j]):
                j += 1
            if j >= len(tokens) or not _title_gap(text, tokens[j - 1], tokens[j]):
                continue
            first = tokens[j]
            if not name_like(first, blocked) and not (first.titled and first.key not in NEVER_SURNAMES):
                continue
            gazetteer = first.key in surnames() or first.key in first_names()
            if tok.key in _NOUN_TITLES and j == k + 1 and not first.titled:
                continue
            if not (first.titled or lowercase_text or gazetteer):
                continue
            if is_frequent(first.key, lang) and not gazetteer and not first.titled:
                continue
            end = extend_name(text, tokens, j, blocked, lowercase_ok=first.lower, greedy=True)
            found.append(result(PERSON, first.start, tokens[end - 1].end, self.SCORE, self))
        found.extend(self._signed(text, tokens, blocked, lang))
        return found

    def _signed(
        self, text: str, tokens: list[Token], blocked: Collection[str], lang: str
    ) -> list[RecognizerResult]:
        """The 1–4 words that end the message after a sign-off or on a last line of their own."""
        starts: list[int] = [m.end() for m in _SIGN_OFF.finditer(text)]
        if "\n" in text.rstrip():
            starts.append(text.rstrip().rfind("\n") + 1)
        found: list[RecognizerResult] = []
        for start in starts:
            tail = [t for t in tokens if t.start >= start]
            if not tail or len(tail) > 6 or _TAIL.fullmatch(text[tail[-1].end :]) is None:
                continue
            words = [t for t in tail if t.key not in TITLES]
            if not words or len(words) > 4:
                continue
            if any(not name_like(t, blocked) and t.key not in NAME_PARTICLES for t in words):
                continue
            gaps_ok = all(
                _title_gap(text, a, b) or text[a.end : b.start] in (" ", "-") for a, b in pairwise(tail)
            )
            if not gaps_ok:
                continue
            titled = len(words) < len(tail)
            known = any(t.key in first_names() or t.key in surnames() for t in words)
            if not (titled or known or any(t.titled for t in words)):
                continue
            if len(words) == 1 and is_frequent(words[0].key, lang) and not known and not titled:
                continue
            found.append(result(PERSON, words[0].start, words[-1].end, self.SCORE, self))
        return found


def _title_gap(text: str, left: Token, right: Token) -> bool:
    gap = text[left.end : right.start]
    return len(gap) <= 3 and "\n" not in gap and gap.strip(" .º") == "" and gap != ""


def _capital_follows(text: str, tokens: list[Token], k: int, blocked: Collection[str]) -> bool:
    if k + 1 >= len(tokens) or not _joined(text, tokens[k], tokens[k + 1]):
        return False
    nxt = tokens[k + 1]
    return nxt.titled and nxt.key not in NEVER_NAMES and nxt.key not in blocked


class KnownNameRecognizer(_NameRecognizer):
    """Names the conversation already knows: profile name, contact record, names seen earlier."""

    SCORE = 0.95

    def find(self, text: str, tokens: list[Token], blocked: Collection[str]) -> list[RecognizerResult]:
        return []

    def find_known(self, text: str, tokens: list[Token], known: Collection[str]) -> list[RecognizerResult]:
        if not known:
            return []
        found: list[RecognizerResult] = []
        i = 0
        while i < len(tokens):
            if tokens[i].key in known:
                j = i + 1
                while j < len(tokens) and tokens[j].key in known and _joined(text, tokens[j - 1], tokens[j]):
                    j += 1
                found.append(result(PERSON, tokens[i].start, tokens[j - 1].end, self.SCORE, self))
                i = j
            else:
                i += 1
        return found


def known_name_keys(names: Iterable[str]) -> frozenset[str]:
    """Folded words of known names that can be matched on their own (no stop or calendar words)."""
    keys: set[str] = set()
    for name in names:
        for token in tokenize(name):
            if len(token.key) >= 2 and token.key not in NEVER_NAMES and token.key not in TITLES:
                keys.add(token.key)
    return frozenset(keys)


class GazetteerNameRecognizer(_NameRecognizer):
    """Census first names (any case) followed by surnames; runs of capitalised unknown words."""

    SCORE = 0.6

    def find(self, text: str, tokens: list[Token], blocked: Collection[str]) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        firsts = first_names()
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if name_like(tok, blocked) and in_names(tok.key, firsts) and (tok.titled or len(tok.key) >= 3):
                end = extend_name(text, tokens, i, blocked, lowercase_ok=tok.lower)
                found.append(result(PERSON, tok.start, tokens[end - 1].end, self.SCORE, self))
                i = end
            else:
                i += 1
        return found


def capitalised_runs(
    text: str, tokens: list[Token], blocked: Collection[str], covered: Collection[int]
) -> list[tuple[int, int]]:
    """Runs of two or more capitalised, unexplained words (particles such as "da" inside)."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.titled and name_like(tok, blocked) and tok.start not in covered:
            j, words = i + 1, 1
            while j < len(tokens) and _joined(text, tokens[j - 1], tokens[j]):
                nxt = tokens[j]
                if nxt.titled and not nxt.initial and name_like(nxt, blocked):
                    j, words = j + 1, words + 1
                elif (
                    nxt.key in NAME_PARTICLES
                    and j + 1 < len(tokens)
                    and tokens[j + 1].titled
                    and name_like(tokens[j + 1], blocked)
                    and _joined(text, nxt, tokens[j + 1])
                ):
                    j, words = j + 2, words + 1
                else:
                    break
            first = i
            if i > 0 and tokens[i - 1].key in GERMAN_DETERMINERS:
                first, words = i + 1, words - 1  # "mein Mann Thomas Müller": Mann is a noun
            if words >= 2:
                runs.append((tokens[first].start, tokens[j - 1].end))
            i = j
        else:
            i += 1
    return runs


def rare_capitalised(token: Token, lang: str, blocked: Collection[str]) -> bool:
    """A capitalised word no frequency list knows ("Oluwaseun"): most likely a name."""
    return (
        token.titled
        and not token.text.isupper()
        and len(token.key) >= 3
        and name_like(token, blocked)
        and not is_known_word(token.key, lang)
        and not looks_german(token.key)
    )


def unexplained_capitals(tokens: list[Token], blocked: Collection[str], covered: Collection[int]) -> bool:
    """True when a capitalised word (not an acronym) is explained by no list and no earlier finding."""
    return any(
        t.titled and not t.text.isupper() and name_like(t, blocked) and t.start not in covered for t in tokens
    )


class SpacyPersonRecognizer(EntityRecognizer):
    """PERSON entities from a spaCy pipeline (only ``tok2vec`` and ``ner`` are run)."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        super().__init__(supported_entities=[PERSON], supported_language=REGISTRY_LANGUAGE)

    def load(self) -> None:
        """The pipeline is loaded by the caller and shared."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is not None:
            ents: Iterable[Any] = nlp_artifacts.entities
        else:
            ents = self.nlp(text).ents
        found: list[RecognizerResult] = []
        for ent in ents:
            if ent.label_ != PERSON:
                continue
            words = [fold(w) for w in ent.text.split()]
            if all(w in NEVER_NAMES for w in words) or any(ch.isdigit() for ch in ent.text):
                continue
            found.append(result(PERSON, ent.start_char, ent.end_char, 0.85, self))
        return found
