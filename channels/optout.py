"""Opt-out and opt-in by keyword (STOP, BAJA, SAIR, ABMELDEN...), and the texts that go with them.

A command is the *whole* message, compared after folding case and accents and dropping
punctuation and emoji, with an optional "please" around it: ``"STOP"``, ``"Baja."``,
``"stop por favor"`` count; ``"no pares de llamar"`` or ``"can I stop by?"`` do not.
``cancel``/``cancelar`` count too (as carriers do), although a receptionist's customer may
mean an appointment: the confirmation tells them how to undo it in one word.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from store.models import ConsentEvent, Contact
from textnorm import fold

ConsentCommand = Literal["opt_out", "opt_in"]
LANGUAGES = ("en", "es", "pt", "de", "fr", "it")

_ANY_LANGUAGE_OUT = {"stop", "stopp", "stop all", "stopall", "unsubscribe", "unsub", "opt out", "optout"}
_ANY_LANGUAGE_IN = {"start", "unstop", "opt in", "optin"}

_OPT_OUT: dict[str, set[str]] = {
    "en": {"cancel", "end", "quit", "stop messages", "no more messages"},
    "es": {"baja", "darme de baja", "dar de baja", "de baja", "parar", "pare", "para ya", "cancelar",
           "no mas mensajes", "desuscribir", "desuscribirme"},
    "pt": {"sair", "parar", "pare", "cancelar", "descadastrar", "descadastre", "nao quero mais mensagens"},
    "de": {"abmelden", "abbestellen", "austragen", "keine nachrichten mehr"},
    "fr": {"arret", "arreter", "desabonner", "desabonnement", "desinscrire", "se desabonner"},
    "it": {"cancellami", "disiscrivimi", "disiscriviti", "disiscrivi", "annulla iscrizione"},
}  # fmt: skip
_OPT_IN: dict[str, set[str]] = {
    "en": {"subscribe", "resume"},
    "es": {"alta", "darme de alta", "dar de alta", "suscribir", "suscribirme", "reanudar"},
    "pt": {"voltar", "assinar", "inscrever", "reativar"},
    "de": {"anmelden", "abonnieren", "fortsetzen"},
    "fr": {"demarrer", "abonner", "reprendre", "s abonner"},
    "it": {"iscrivimi", "riprendi", "riattiva"},
}  # fmt: skip
# Words that are commands only when the conversation is known to be in that language.
_HINTED_OUT: dict[str, set[str]] = {
    "es": {"fin", "alto"},
    "fr": {"fin"},
    "it": {"basta", "fine"},
    "de": {"ende"},
}

_POLITE = (
    "please",
    "pls",
    "plz",
    "por favor",
    "porfa",
    "bitte",
    "s il vous plait",
    "svp",
    "per favore",
    "obrigado",
)
_MAX_LENGTH = 60


def _plain(text: str) -> str:
    """Folded, with every run of anything but ASCII letters and digits turned into one space."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def _strip_polite(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for word in _POLITE:
            if text.startswith(word + " "):
                text, changed = text[len(word) + 1 :], True
            elif text.endswith(" " + word):
                text, changed = text[: -len(word) - 1], True
    return text


def _base_language(lang: str | None) -> str | None:
    return lang.replace("-", "_").split("_", 1)[0].lower() if lang else None


_EVERY_COMMAND = frozenset().union(
    _ANY_LANGUAGE_OUT, _ANY_LANGUAGE_IN, *_OPT_OUT.values(), *_OPT_IN.values(), *_HINTED_OUT.values()
)


def _command_text(text: str | None) -> str:
    """The message as commands are compared: folded, "please" dropped ("" when too long)."""
    if not text or len(text) > _MAX_LENGTH:
        return ""
    return _strip_polite(_plain(text))


def may_be_consent_command(text: str | None) -> bool:
    """Whether the message is a command in some language: only then does
    :func:`detect_consent_command` need the conversation's language."""
    return _command_text(text) in _EVERY_COMMAND


def detect_consent_command(text: str | None, lang_hint: str | None = None) -> ConsentCommand | None:
    """``"opt_out"``, ``"opt_in"`` or ``None`` for a customer's message."""
    folded = _command_text(text)
    if not folded:
        return None
    if folded in _ANY_LANGUAGE_OUT or any(folded in words for words in _OPT_OUT.values()):
        return "opt_out"
    if folded in _ANY_LANGUAGE_IN or any(folded in words for words in _OPT_IN.values()):
        return "opt_in"
    lang = _base_language(lang_hint)
    if lang and folded in _HINTED_OUT.get(lang, set()):
        return "opt_out"
    return None


def apply_consent(
    session: Session,
    contact: Contact,
    command: ConsentCommand,
    now: datetime,
    *,
    source: str = "keyword",
    wording: str | None = None,
    language: str | None = None,
    conversation_id: int | None = None,
) -> bool:
    """Record the change on the contact; True when it changed (repeating a command is a no-op).

    ``opted_out_at``/``opted_in_at`` keep the time of the latest change of each kind and
    ``consent_source`` says how it was given (``keyword``, ``api``, ``agent``...). Each change is
    also kept as a :class:`ConsentEvent` with the ``wording`` the customer was shown.
    """
    if now.tzinfo is None:
        raise ValueError("now: naive datetime; use timezone-aware UTC")
    if command == "opt_out":
        if contact.opted_out:
            return False
        contact.opted_out = True
        contact.opted_out_at = now
    else:
        if not contact.opted_out and contact.opted_in_at is not None:
            return False
        contact.opted_out = False
        contact.opted_in_at = now
    contact.consent_source = source[:64]
    session.add(contact)
    session.add(
        ConsentEvent(
            tenant_id=contact.tenant_id,
            contact_id=contact.id,
            conversation_id=conversation_id,
            kind=command,
            source=source[:32],
            wording=wording,
            language=language,
            at=now,
        )
    )
    return True


# --- texts ------------------------------------------------------------------------------------

_OPT_OUT_TEXT = {
    "en": "You will no longer receive messages from us. Reply START to receive them again.",
    "es": "No recibirás más mensajes nuestros. Responde ALTA para volver a recibirlos.",
    "pt": "Você não receberá mais mensagens nossas. Responda VOLTAR para recebê-las novamente.",
    "de": "Sie erhalten keine Nachrichten mehr von uns. Antworten Sie START, um sie wieder zu erhalten.",
    "fr": "Vous ne recevrez plus de messages de notre part. Répondez START pour les recevoir à nouveau.",
    "it": "Non riceverai più messaggi da noi. Rispondi START per riceverli di nuovo.",
}
_OPT_IN_TEXT = {
    "en": "Welcome back! You will receive our messages again. Reply STOP at any time to stop them.",
    "es": "¡Bienvenido de nuevo! Volverás a recibir nuestros mensajes. Responde BAJA cuando quieras.",
    "pt": "Bem-vindo de volta! Você voltará a receber nossas mensagens. Responda SAIR quando quiser.",
    "de": "Willkommen zurück! Sie erhalten wieder unsere Nachrichten. Antworten Sie jederzeit STOPP.",
    "fr": "Bon retour ! Vous recevrez à nouveau nos messages. Répondez STOP à tout moment.",
    "it": "Bentornato! Riceverai di nuovo i nostri messaggi. Rispondi STOP in qualsiasi momento.",
}
_UNSUPPORTED_TEXT = {
    "en": "Sorry, I can't read this kind of message yet. Could you write it to me as text?",
    "es": "Lo siento, todavía no puedo leer este tipo de mensaje. ¿Podrías escribírmelo como texto?",
    "pt": "Desculpe, ainda não consigo ler este tipo de mensagem. Pode escrever-me em texto?",
    "de": "Entschuldigung, solche Nachrichten kann ich noch nicht lesen. Bitte schreiben Sie mir als Text.",
    "fr": "Désolé, je ne peux pas encore lire ce type de message. Pourriez-vous me l'écrire en texte ?",
    "it": "Mi dispiace, non riesco ancora a leggere questo tipo di messaggio. Puoi scrivermelo come testo?",
}


def _pick(texts: dict[str, str], lang: str | None) -> str:
    return texts.get(_base_language(lang) or "en", texts["en"])


def consent_confirmation(command: ConsentCommand, lang: str | None) -> str:
    """The one message sent after an opt-out (the last one) or an opt-in, in ``lang``."""
    return _pick(_OPT_OUT_TEXT if command == "opt_out" else _OPT_IN_TEXT, lang)


def unsupported_reply(lang: str | None) -> str:
    """The polite answer to a message type the bot cannot read."""
    return _pick(_UNSUPPORTED_TEXT, lang)
