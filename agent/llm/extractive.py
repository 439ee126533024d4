"""The extractive provider: no model. Answers with the best knowledge passage, or clarifies, or hands off.

Deterministic. Passages reach it as ``ContextMessage`` passages or as the ``passages`` of a
``search_knowledge`` tool result (it calls ``search_knowledge`` itself when offered and the
turn has none yet). A handoff is a ``request_human(reason)`` tool call, like a model's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from agent.llm.base import Provider
from agent.llm.types import (
    AssistantMessage,
    CallSettings,
    Citation,
    Completion,
    ContextMessage,
    ContextPassage,
    Message,
    ProviderSettings,
    SystemMessage,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)
from knowledge.terms import stem
from textnorm import LANGUAGES, Language, detect_language, fold

Outcome = Literal["answer", "clarify", "handoff", "search", "hours"]

SEARCH_TOOL = "search_knowledge"
HANDOFF_TOOL = "request_human"
HOURS_TOOL = "business_hours"

_STOPWORDS: dict[Language, frozenset[str]] = {
    "en": frozenset(
        [
            "a",
            "an",
            "the",
            "and",
            "or",
            "but",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "am",
            "do",
            "does",
            "did",
            "have",
            "has",
            "had",
            "i",
            "you",
            "he",
            "she",
            "it",
            "we",
            "they",
            "me",
            "my",
            "your",
            "our",
            "their",
            "this",
            "that",
            "these",
            "those",
            "what",
            "which",
            "who",
            "whom",
            "how",
            "when",
            "where",
            "why",
            "can",
            "could",
            "would",
            "should",
            "will",
            "shall",
            "may",
            "might",
            "must",
            "to",
            "of",
            "in",
            "on",
            "at",
            "for",
            "with",
            "about",
            "from",
            "by",
            "as",
            "if",
            "then",
            "than",
            "so",
            "not",
            "no",
            "yes",
            "please",
            "there",
            "here",
            "any",
            "some",
            "much",
            "many",
            "more",
            "most",
            "very",
            "also",
            "just",
            "there's",
            "it's",
            "i'm",
            "hi",
            "hello",
            "thanks",
            "thank",
            "want",
            "need",
            "tell",
            "know",
            "get",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "un",
            "una",
            "unos",
            "unas",
            "y",
            "o",
            "pero",
            "es",
            "son",
            "era",
            "fue",
            "ser",
            "estar",
            "esta",
            "estan",
            "este",
            "esto",
            "eso",
            "esa",
            "ese",
            "que",
            "cual",
            "quien",
            "como",
            "cuando",
            "donde",
            "por",
            "para",
            "con",
            "sin",
            "sobre",
            "de",
            "del",
            "al",
            "en",
            "a",
            "se",
            "su",
            "sus",
            "mi",
            "mis",
            "tu",
            "tus",
            "yo",
            "usted",
            "ustedes",
            "nos",
            "nosotros",
            "me",
            "te",
            "le",
            "les",
            "lo",
            "hay",
            "muy",
            "mas",
            "tambien",
            "si",
            "no",
            "hola",
            "gracias",
            "quiero",
            "quisiera",
            "saber",
            "puedo",
            "pueden",
            "puede",
            "tienen",
            "tiene",
            "tengo",
            "hacer",
            "favor",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "um",
            "uma",
            "uns",
            "umas",
            "e",
            "ou",
            "mas",
            "e",
            "sao",
            "era",
            "foi",
            "ser",
            "estar",
            "esta",
            "estao",
            "este",
            "isto",
            "isso",
            "essa",
            "esse",
            "que",
            "qual",
            "quem",
            "como",
            "quando",
            "onde",
            "por",
            "para",
            "com",
            "sem",
            "sobre",
            "de",
            "do",
            "da",
            "dos",
            "das",
            "no",
            "na",
            "nos",
            "nas",
            "em",
            "ao",
            "se",
            "seu",
            "sua",
            "meu",
            "minha",
            "voce",
            "voces",
            "eu",
            "nos",
            "me",
            "te",
            "lhe",
            "muito",
            "mais",
            "tambem",
            "sim",
            "nao",
            "ola",
            "obrigado",
            "obrigada",
            "quero",
            "queria",
            "saber",
            "posso",
            "podem",
            "pode",
            "tem",
            "tenho",
            "fazer",
            "favor",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "den",
            "dem",
            "des",
            "ein",
            "eine",
            "einen",
            "einem",
            "einer",
            "und",
            "oder",
            "aber",
            "ist",
            "sind",
            "war",
            "waren",
            "sein",
            "bin",
            "bist",
            "hat",
            "haben",
            "habe",
            "was",
            "welche",
            "welcher",
            "wer",
            "wie",
            "wann",
            "wo",
            "warum",
            "kann",
            "konnen",
            "konnte",
            "wurde",
            "soll",
            "zu",
            "von",
            "in",
            "im",
            "an",
            "am",
            "auf",
            "fur",
            "mit",
            "uber",
            "aus",
            "bei",
            "als",
            "wenn",
            "dann",
            "so",
            "nicht",
            "kein",
            "keine",
            "ja",
            "bitte",
            "es",
            "ich",
            "du",
            "sie",
            "wir",
            "ihr",
            "mein",
            "meine",
            "ihr",
            "ihre",
            "unser",
            "hallo",
            "danke",
            "mochte",
            "will",
            "gibt",
            "man",
        ]
    ),
}
_HUMAN = re.compile(
    r"\b(human[oa]?|real person|a person|una persona|uma pessoa|pessoa|mensch|mitarbeiter(in)?|atendente|"
    r"agente|representative|asesor[a]?|berater(in)?|operator|operador[a]?|someone real|alguien real)\b"
)
_HOURS = re.compile(
    r"\b(hours|opening|open|close[sd]?|what time|horario[s]?|abiert[oa]s?|abren|abris|abre|cierran|"
    r"cierra|a que hora|aberto|abrem|fecham|que horas|offnungszeit(en)?|geoffnet|offen|schliessen|"
    r"wann)\b"
)
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

CLARIFY: dict[Language, tuple[str, str, str]] = {
    # (prefix, with options, without options)
    "en": (
        "To help you better,",
        " could you tell me a bit more? Is it about {options}?",
        " could you tell me a bit more?",
    ),
    "es": (
        "Para ayudarte mejor,",
        " ¿podrías darme un poco más de detalle? ¿Es sobre {options}?",
        " ¿podrías darme un poco más de detalle?",
    ),
    "pt": (
        "Para ajudar melhor,",
        " você pode me dar um pouco mais de detalhes? É sobre {options}?",
        " você pode me dar um pouco mais de detalhes?",
    ),
    "de": (
        "Damit ich besser helfen kann:",
        " Können Sie mir etwas mehr sagen? Geht es um {options}?",
        " Können Sie mir etwas mehr sagen?",
    ),
}
_OR: dict[Language, str] = {"en": "or", "es": "o", "pt": "ou", "de": "oder"}
GREETING: dict[Language, str] = {
    "en": "Hello! How can I help you?",
    "es": "¡Hola! ¿En qué puedo ayudarte?",
    "pt": "Olá! Como posso ajudar?",
    "de": "Hallo! Wie kann ich helfen?",
}


_PLACEHOLDER = re.compile(r"<[A-Za-z_]+_\d+>")
_EXTRA_STOPWORDS = frozenset(
    [
        "soy",
        "eres",
        "somos",
        "sou",
        "somos",
        "bin",
        "bist",
        "sind",
        "im",
        "hola",
        "hello",
        "hi",
        "ola",
        "hallo",
        "oi",
    ]
)
PRICE_TERM = "§price"
_PRICE_CUES = frozenset(
    [
        "cuesta",
        "cuestan",
        "precio",
        "precios",
        "vale",
        "valen",
        "tarifa",
        "tarifas",
        "cuanto",
        "cost",
        "costs",
        "price",
        "prices",
        "much",
        "kostet",
        "kosten",
        "preis",
        "preise",
        "custa",
        "custam",
        "preco",
        "precos",
        "quanto",
        "valor",
    ]
)
_PRICE_IN_TEXT = re.compile(r"\d\s?(?:€|eur\b|euros?\b|\$|usd\b|reais\b)|(?:€|\$|r\$)\s?\d", re.IGNORECASE)


HOURS_TERM = "§hours"
_HOURS_CUES = (
    "hours hour opening open opens close closes closed time horario horarios hora horas abierto abierta "
    "abiertos abren abris abre abrimos cierran cierra cerrado aberto abertos abrem abre fecham fecha "
    "fechado horario offnungszeit offnungszeiten geoffnet offen schliessen geschlossen uhr wann"
)
_TIME_IN_TEXT = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2}\s?(?:h|uhr|am|pm)\b", re.IGNORECASE)


def asks_hours(text: str) -> bool:
    """Whether a question asks when the business is open."""
    return bool(_HOURS.search(fold(text)))


def asks_price(text: str) -> bool:
    """Whether a question asks how much something costs."""
    return any(w in _PRICE_CUES for w in _WORD.findall(fold(text)))


def terms(text: str, lang: Language) -> list[str]:
    """Content terms: words without stopwords or placeholders, stemmed, accent-folded."""
    return list(_terms(text, lang))


@lru_cache(maxsize=8192)
def _terms(text: str, lang: Language) -> tuple[str, ...]:
    stops = _STOPWORDS[lang] | _EXTRA_STOPWORDS
    out: list[str] = []
    for word in _WORD.findall(_PLACEHOLDER.sub(" ", text).lower().replace("ß", "ss")):
        folded = fold(word)
        if folded in stops or (len(folded) < 2 and not folded.isdigit()):
            continue
        out.append(stem(word, lang))
    return tuple(out)


@dataclass(frozen=True)
class Scored:
    """A passage with how well it covers the question."""

    passage: ContextPassage
    coverage: float
    index: int


@dataclass(frozen=True)
class _CustomerTurn:
    """The customer's current turn as the messages tell it, with what was gathered for it."""

    text: str
    passages: list[ContextPassage]
    called: frozenset[str]
    tool_results: dict[str, str]
    """Contents of the tool results that succeeded, by tool name."""
    clarified_before: bool
    prior_chars: int


def _read_turn(messages: Sequence[Message]) -> _CustomerTurn:
    """The customer's current turn, the passages and tool results gathered for it."""
    user: list[str] = []
    passages: list[ContextPassage] = []
    called: set[str] = set()
    results: dict[str, str] = {}
    start = len(messages)
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, AssistantMessage) and m.text and not m.tool_calls:
            break
        start = i
    for m in messages[start:]:
        if isinstance(m, UserMessage):
            user.append(m.text)
        elif isinstance(m, ContextMessage):
            passages.extend(m.passages)
        elif isinstance(m, AssistantMessage):
            called.update(c.name for c in m.tool_calls)
        elif isinstance(m, ToolResultMessage):
            called.add(m.name)
            if not m.is_error:
                results[m.name] = m.content
            passages.extend(m.passages)
    previous = next(
        (m for m in reversed(messages[:start]) if isinstance(m, AssistantMessage) and m.text), None
    )
    prefixes = [p for p, _, _ in CLARIFY.values()] + list(GREETING.values())
    clarified = previous is not None and any(previous.text.startswith(p) for p in prefixes)
    prior = sum(len(getattr(m, "text", "")) for m in messages if not isinstance(m, SystemMessage))
    return _CustomerTurn(" ".join(user).strip(), passages, frozenset(called), results, clarified, prior)


_GENERIC_WORDS = (
    # Words of the question itself, not of the thing asked about ("how LONG does delivery TAKE").
    "long take takes work works offer offers available accept accepts provide provides sell sells "
    "information info question possible way kind "
    "aceptan aceptais aceptar ofrecen ofreceis ofrecer hacen haceis trabajan funciona funcionan "
    "disponible tiempo tarda tardan informacion pregunta posible tipo teneis podeis "
    "aceitam aceitar oferecem oferecer fazem funciona funcionam disponivel demora demoram tempo "
    "informacao pergunta possivel tipo voces "
    "funktioniert funktionieren bieten bietet anbieten akzeptieren akzeptiert lange dauert dauer "
    "moglich verfugbar information frage art gibt"
)


@cache
def _generic_terms(lang: Language) -> frozenset[str]:
    return frozenset(terms(f"{_GENERIC_WORDS} {_HOURS_CUES} {' '.join(_PRICE_CUES)}", lang))


def item_terms(question: str, lang: Language) -> set[str]:
    """The content terms naming what is asked about: the question's terms less its generic words."""
    return set(terms(question, lang)) - _generic_terms(lang)


def covers_item(item: set[str], have: set[str]) -> bool:
    """Whether a passage's terms name the asked item: all its terms (one may miss from four on)."""
    missing = len(item - have)
    return missing == 0 or (len(item) >= 4 and missing <= 1)


def _passage_terms(passage: ContextPassage, lang: Language) -> set[str]:
    have = set(terms(f"{passage.heading} {passage.text}", lang))
    if _PRICE_IN_TEXT.search(passage.text):
        have.add(PRICE_TERM)
    if _TIME_IN_TEXT.search(passage.text):
        have.add(HOURS_TERM)
    return have


def rank(question: str, passages: Sequence[ContextPassage], lang: Language) -> list[Scored]:
    """Passages by share of the question's terms they contain (ties: retrieval score, order).

    A price only counts in a passage that names something of what was asked: the price of
    another item is no answer.
    """
    q = set(terms(question, lang))
    item = item_terms(question, lang)
    if asks_price(question):  # "how much is X": the price is the point, not the words
        q = (q - set(terms(" ".join(_PRICE_CUES), lang))) | {PRICE_TERM}
    if asks_hours(question):  # "when do you open": times are the point
        q = (q - set(terms(_HOURS_CUES, lang))) | {HOURS_TERM}
    scored: list[Scored] = []
    for i, p in enumerate(passages):
        have = _passage_terms(p, lang)
        if item and not item & have:
            have -= {PRICE_TERM, HOURS_TERM}
        coverage = len(q & have) / len(q) if q else 0.0
        scored.append(Scored(p, coverage, i))
    return sorted(scored, key=lambda s: (-s.coverage, -s.passage.score, s.index))


def answering(question: str, ranked: Sequence[Scored], lang: Language, threshold: float) -> Scored | None:
    """The best passage that covers enough of the question *and* names the asked item, if any."""
    item = item_terms(question, lang)
    for scored in ranked:
        if scored.coverage < threshold:
            return None
        if covers_item(item, _passage_terms(scored.passage, lang)):
            return scored
    return None


def best_sentences(question: str, passage: ContextPassage, lang: Language, limit: int) -> str:
    """The passage trimmed to the sentences that share terms with the question."""
    q = set(terms(question, lang))
    sentences = [s.strip() for s in _SENTENCE.split(passage.text) if s.strip()]
    hits = [(len(q & set(terms(s, lang))), i) for i, s in enumerate(sentences)]
    best = max((n for n, _ in hits), default=0)
    ranked = sorted(hits, key=lambda h: (-h[0], h[1]))[:limit]
    chosen = sorted(i for n, i in ranked if n > 0 and 2 * n > best)
    if not chosen:
        chosen = list(range(min(limit, len(sentences))))
    return " ".join(sentences[i] for i in chosen)


class ExtractiveProvider(Provider):
    """Answers from passages only; zero cost, nothing leaves the process."""

    name = "extractive"

    def __init__(
        self,
        settings: ProviderSettings | None = None,
        *,
        answer_threshold: float = 0.5,
        clarify_threshold: float = 0.2,
        max_sentences: int = 2,
        default_language: Language = "en",
    ) -> None:
        self.settings = settings or ProviderSettings()
        self.model = self.settings.model or "extractive"
        self.answer_threshold = answer_threshold
        self.clarify_threshold = clarify_threshold
        self.max_sentences = max_sentences
        self.default_language: Language = default_language

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """Decide deterministically (see ``decide``), in the conversation's language if given."""
        language = settings.language if settings is not None else None
        return self.decide(messages, tools, language=language)[1]

    def decide(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), *, language: str | None = None
    ) -> tuple[Outcome, Completion]:
        """The outcome (answer, clarify, handoff, or a tool to call first) and its completion.

        ``language`` is the conversation's (the graph keeps it across short messages); without
        it the turn's own words decide.
        """
        turn = _read_turn(messages)
        offered = {t.name for t in tools}
        lang: Language = (
            language if language in LANGUAGES else detect_language(turn.text, self.default_language)
        )
        folded = fold(turn.text)

        if _HUMAN.search(folded):
            return "handoff", self._handoff(turn, "the customer asked for a person")
        if HOURS_TOOL in turn.tool_results and asks_hours(folded):
            return "answer", self._text(turn, turn.tool_results[HOURS_TOOL])
        if HOURS_TOOL in offered and HOURS_TOOL not in turn.called and asks_hours(folded):
            return "hours", self._call(turn, HOURS_TOOL, {})
        if not terms(turn.text, lang):
            if turn.clarified_before:
                return "handoff", self._handoff(turn, "still unclear after one clarifying question")
            return "clarify", self._text(turn, GREETING[lang])
        if not turn.passages and SEARCH_TOOL in offered and SEARCH_TOOL not in turn.called and turn.text:
            return "search", self._call(turn, SEARCH_TOOL, {"query": turn.text})

        ranked = rank(turn.text, turn.passages, lang)
        top = ranked[0] if ranked else None
        best = answering(turn.text, ranked, lang, self.answer_threshold)
        if best is not None:
            text = best_sentences(turn.text, best.passage, lang, self.max_sentences)
            citation = Citation(source=best.passage.source, heading=best.passage.heading)
            return "answer", self._text(turn, text, [citation])
        if top is not None and top.coverage >= self.clarify_threshold and not turn.clarified_before:
            return "clarify", self._text(turn, self._clarify(lang, ranked))
        reason = (
            "no knowledge passage answers the question"
            if not turn.clarified_before
            else "still unclear after one clarifying question"
        )
        return "handoff", self._handoff(turn, reason)

    def _clarify(self, lang: Language, ranked: list[Scored]) -> str:
        prefix, with_options, bare = CLARIFY[lang]
        headings: list[str] = []
        for s in ranked:
            h = s.passage.heading.strip()
            if s.coverage > 0 and h and h.lower() not in (x.lower() for x in headings):
                headings.append(h)
            if len(headings) == 2:
                break
        if not headings:
            return prefix + bare
        options = f" {_OR[lang]} ".join(f'"{h}"' for h in headings)
        return prefix + with_options.format(options=options)

    def _usage(self, turn: _CustomerTurn, out: str) -> Usage:
        chars = turn.prior_chars + sum(len(p.text) for p in turn.passages)
        return Usage(input_tokens=(chars + 3) // 4, output_tokens=(len(out) + 3) // 4)

    def _text(self, turn: _CustomerTurn, text: str, citations: list[Citation] | None = None) -> Completion:
        return Completion(
            text=text,
            usage=self._usage(turn, text),
            cost_usd=0.0,
            model=self.model,
            provider=self.name,
            citations=citations or [],
        )

    def _call(self, turn: _CustomerTurn, name: str, arguments: dict[str, Any]) -> Completion:
        digest = hashlib.sha256(f"{name}\x00{turn.text}\x00{sorted(arguments.items())}".encode()).hexdigest()
        call = ToolCall(id=f"xt_{digest[:12]}", name=name, arguments=arguments)
        return Completion(
            tool_calls=[call],
            stop_reason="tool_use",
            usage=self._usage(turn, str(arguments)),
            cost_usd=0.0,
            model=self.model,
            provider=self.name,
        )

    def _handoff(self, turn: _CustomerTurn, reason: str) -> Completion:
        return self._call(turn, HANDOFF_TOOL, {"reason": reason})
