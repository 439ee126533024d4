"""A tenant's receptionist settings, read from ``tenants.settings`` (non-secret JSON).

Operators set them through the API or the CLI; every field has a sensible default, and the
customer-facing wording can be overridden per language.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from textnorm import LANGUAGES, Language

DEFAULT_DISCLOSURE: dict[Language, str] = {
    "en": "Hi! I'm {business}'s AI assistant. Write \"agent\" at any time to talk to a person.",
    "es": '¡Hola! Soy el asistente de IA de {business}. Escribe "agente" cuando quieras hablar con una persona.',
    "pt": 'Olá! Sou o assistente de IA de {business}. Escreva "atendente" a qualquer momento para falar com uma pessoa.',
    "de": 'Hallo! Ich bin der KI-Assistent von {business}. Schreiben Sie jederzeit "Mitarbeiter", um mit einem Menschen zu sprechen.',
}
DEFAULT_HANDOFF: dict[Language, str] = {
    "en": "I'm passing you to a member of our team; they will reply here shortly.",
    "es": "Te paso con una persona de nuestro equipo; te responderá por aquí en breve.",
    "pt": "Vou passar você para uma pessoa da nossa equipe; ela responderá aqui em breve.",
    "de": "Ich verbinde Sie mit jemandem aus unserem Team; Sie bekommen hier in Kürze eine Antwort.",
}
DEFAULT_HANDOFF_CLOSED: dict[Language, str] = {
    "en": "I'm passing you to a member of our team. We are closed right now; they will reply here when we open, {when}.",
    "es": "Te paso con una persona de nuestro equipo. Ahora estamos cerrados; te responderá por aquí cuando abramos, {when}.",
    "pt": "Vou passar você para uma pessoa da nossa equipe. Agora estamos fechados; ela responderá aqui quando abrirmos, {when}.",
    "de": "Ich verbinde Sie mit jemandem aus unserem Team. Wir haben gerade geschlossen; Sie bekommen hier eine Antwort, sobald wir öffnen, {when}.",
}
"""The handoff message outside opening hours; ``{when}`` is the next opening (``agent.tools.hours``)."""
DEFAULT_FALLBACK: dict[Language, str] = {
    "en": "Sorry, I can't help with that here. Would you like me to pass you to a person?",
    "es": "Lo siento, no puedo ayudarte con eso por aquí. ¿Quieres que te pase con una persona?",
    "pt": "Desculpe, não posso ajudar com isso por aqui. Quer que eu passe você para uma pessoa?",
    "de": "Entschuldigung, dabei kann ich hier nicht helfen. Soll ich Sie mit einem Menschen verbinden?",
}
MessageKind = Literal["disclosure", "handoff", "handoff_closed", "fallback"]
DEFAULT_WORDING: dict[MessageKind, dict[Language, str]] = {
    "disclosure": DEFAULT_DISCLOSURE,
    "handoff": DEFAULT_HANDOFF,
    "handoff_closed": DEFAULT_HANDOFF_CLOSED,
    "fallback": DEFAULT_FALLBACK,
}
MESSAGE_KINDS: tuple[MessageKind, ...] = tuple(DEFAULT_WORDING)
DEFAULT_HANDOFF_KEYWORDS = (
    "complaint", "lawyer", "legal action", "emergency", "urgent",
    "queja", "reclamación", "abogado", "denuncia", "emergencia", "urgencia",
    "reclamação", "advogado", "processo judicial", "emergência", "urgência",
    "beschwerde", "anwalt", "klage", "notfall", "dringend",
)  # fmt: skip


class TenantProfile(BaseModel):
    """How one business's receptionist behaves."""

    model_config = ConfigDict(extra="ignore")

    business_name: str = "our business"
    persona: str = "a friendly, concise receptionist"
    tone: str = "warm and professional"
    rules: list[str] = Field(default_factory=list[str])
    """Extra instructions from the business ("never quote prices for surgery", …)."""
    default_language: Language = "es"
    timezone: str = "UTC"
    opening_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict[str, list[tuple[str, str]]])
    """Weekday (mon…sun) → list of (open, close) as HH:MM, in the tenant's timezone. Empty: not
    configured (the knowledge base is asked instead); once set, a day without spans is closed."""
    holidays: list[str] = Field(default_factory=list[str])
    """Closed days as YYYY-MM-DD."""
    handoff_keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_HANDOFF_KEYWORDS))
    max_misses: int = 2
    """Turns in a row without a knowledge hit before a human is asked in."""
    business_words: list[str] = Field(default_factory=list[str])
    """Service and product words the redactor must never take for names."""
    redaction: dict[str, Any] = Field(default_factory=dict[str, Any])
    """The tenant's own redaction rules: patterns, deny, allow, enabled (``agent.redaction.rules``)."""
    messages: dict[str, dict[str, str]] = Field(default_factory=dict[str, dict[str, str]])
    """Wording overrides: ``{"disclosure": {"es": "…"}, "handoff": {…}, "handoff_closed": {…}, "fallback": {…}}``."""
    max_reply_chars: int = 1000

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any] | None) -> TenantProfile:
        data = dict(settings or {})
        data.setdefault("business_name", name)
        return cls.model_validate(data)

    @property
    def hours_configured(self) -> bool:
        """Whether opening hours were set at all (unset hours are unknown, never "closed")."""
        return bool(self.opening_hours)

    def wording(self, kind: MessageKind, lang: str) -> str:
        """Customer-facing text of ``kind`` in ``lang`` (the tenant's wording first)."""
        defaults = DEFAULT_WORDING[kind]
        own = self.messages.get(kind, {})
        language: Language = lang if lang in LANGUAGES else self.default_language
        text = own.get(language) or defaults[language]
        return text.replace("{business}", self.business_name)
