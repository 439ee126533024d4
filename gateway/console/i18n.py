"""The console's words in English, Spanish, Portuguese and German; the language is the
user's choice (a cookie) or else the browser's ``Accept-Language``."""

from __future__ import annotations

LANGUAGES = {"en": "English", "es": "Español", "pt": "Português", "de": "Deutsch"}
DEFAULT = "en"

WORDS: dict[str, dict[str, str]] = {
    "console": {
        "en": "Frontdesk console",
        "es": "Consola de Frontdesk",
        "pt": "Console do Frontdesk",
        "de": "Frontdesk-Konsole",
    },
    "sign_in_title": {"en": "Sign in", "es": "Iniciar sesión", "pt": "Entrar", "de": "Anmelden"},
    "sign_in_help": {
        "en": "Paste the API token your administrator gave you.",
        "es": "Pega el token de API que te dio tu administrador.",
        "pt": "Cole o token de API que o seu administrador lhe deu.",
        "de": "Füge das API-Token ein, das du von deiner Administration bekommen hast.",
    },
    "api_token": {"en": "API token", "es": "Token de API", "pt": "Token de API", "de": "API-Token"},
    "sign_in": {"en": "Sign in", "es": "Entrar", "pt": "Entrar", "de": "Anmelden"},
    "sign_out": {"en": "Sign out", "es": "Cerrar sesión", "pt": "Sair", "de": "Abmelden"},
    "bad_token": {
        "en": "That token is not valid.",
        "es": "Ese token no es válido.",
        "pt": "Esse token não é válido.",
        "de": "Dieses Token ist ungültig.",
    },
    "locked": {
        "en": "This user is locked after repeated failed sign-ins; try again later.",
        "es": "Este usuario está bloqueado tras varios intentos fallidos; inténtalo más tarde.",
        "pt": "Este utilizador está bloqueado após várias tentativas falhadas; tente mais tarde.",
        "de": "Dieser Benutzer ist nach mehreren Fehlversuchen gesperrt; versuche es später.",
    },
    "too_many": {
        "en": "Too many failed sign-ins from this address; wait a few minutes.",
        "es": "Demasiados intentos fallidos desde esta dirección; espera unos minutos.",
        "pt": "Demasiadas tentativas falhadas deste endereço; aguarde alguns minutos.",
        "de": "Zu viele Fehlversuche von dieser Adresse; warte ein paar Minuten.",
    },
    "wrong_role": {
        "en": "The console is for agents, supervisors and admins.",
        "es": "La consola es para agentes, supervisores y administradores.",
        "pt": "O console é para agentes, supervisores e administradores.",
        "de": "Die Konsole ist für Agenten, Supervisoren und Admins.",
    },
    "expired": {
        "en": "Your session ended; sign in again.",
        "es": "Tu sesión terminó; vuelve a entrar.",
        "pt": "A sua sessão terminou; entre novamente.",
        "de": "Deine Sitzung ist abgelaufen; melde dich erneut an.",
    },
    "language": {"en": "Language", "es": "Idioma", "pt": "Idioma", "de": "Sprache"},
    "apply": {"en": "Apply", "es": "Aplicar", "pt": "Aplicar", "de": "Anwenden"},
    "inbox": {"en": "Inbox", "es": "Bandeja", "pt": "Caixa de entrada", "de": "Posteingang"},
    "view_all": {"en": "All", "es": "Todas", "pt": "Todas", "de": "Alle"},
    "needs_human": {
        "en": "Needs a human",
        "es": "Necesita una persona",
        "pt": "Precisa de uma pessoa",
        "de": "Braucht einen Menschen",
    },
    "mine": {"en": "Mine", "es": "Mías", "pt": "Minhas", "de": "Meine"},
    "unassigned": {"en": "Unassigned", "es": "Sin asignar", "pt": "Sem atribuição", "de": "Nicht zugewiesen"},
    "others": {
        "en": "Other agents'",
        "es": "De otros agentes",
        "pt": "De outros agentes",
        "de": "Andere Agenten",
    },
    "empty": {
        "en": "Nothing here.",
        "es": "Nada por aquí.",
        "pt": "Nada por aqui.",
        "de": "Hier ist nichts.",
    },
    "customer": {"en": "Customer", "es": "Cliente", "pt": "Cliente", "de": "Kunde"},
    "waiting": {"en": "Waiting", "es": "Esperando", "pt": "À espera", "de": "Wartet"},
    "mode": {"en": "Mode", "es": "Modo", "pt": "Modo", "de": "Modus"},
    "mode_bot": {"en": "Bot", "es": "Bot", "pt": "Bot", "de": "Bot"},
    "mode_human": {"en": "Human", "es": "Persona", "pt": "Pessoa", "de": "Mensch"},
    "assignee": {"en": "Assignee", "es": "Asignada a", "pt": "Atribuída a", "de": "Zuständig"},
    "nobody": {"en": "nobody", "es": "nadie", "pt": "ninguém", "de": "niemand"},
    "you": {"en": "you", "es": "tú", "pt": "você", "de": "du"},
    "last_message": {
        "en": "Last message",
        "es": "Último mensaje",
        "pt": "Última mensagem",
        "de": "Letzte Nachricht",
    },
    "unread": {"en": "Unanswered", "es": "Sin responder", "pt": "Sem resposta", "de": "Unbeantwortet"},
    "live": {"en": "Live", "es": "En directo", "pt": "Ao vivo", "de": "Live"},
    "offline": {"en": "Reconnecting…", "es": "Reconectando…", "pt": "A reconectar…", "de": "Verbinde neu…"},
    "sound": {
        "en": "Sound for new handoffs",
        "es": "Sonido en nuevos traspasos",
        "pt": "Som em novas transferências",
        "de": "Ton bei neuen Übergaben",
    },
    "shortcuts": {"en": "Shortcuts", "es": "Atajos", "pt": "Atalhos", "de": "Tastenkürzel"},
    "shortcuts_help": {
        "en": "j / k: next / previous conversation · i: inbox · r: reply · Ctrl+Enter: send",
        "es": "j / k: conversación siguiente / anterior · i: bandeja · r: responder · Ctrl+Intro: enviar",
        "pt": "j / k: conversa seguinte / anterior · i: caixa de entrada · r: responder · Ctrl+Enter: enviar",
        "de": "j / k: nächstes / vorheriges Gespräch · i: Posteingang · r: antworten · Strg+Enter: senden",
    },
    "back": {
        "en": "Back to the inbox",
        "es": "Volver a la bandeja",
        "pt": "Voltar à caixa de entrada",
        "de": "Zurück zum Posteingang",
    },
    "handoff_summary": {
        "en": "Handoff summary",
        "es": "Resumen del traspaso",
        "pt": "Resumo da transferência",
        "de": "Übergabe-Zusammenfassung",
    },
    "reason": {"en": "Reason", "es": "Motivo", "pt": "Motivo", "de": "Grund"},
    "no_handoff": {
        "en": "The bot has not handed this conversation over.",
        "es": "El bot no ha traspasado esta conversación.",
        "pt": "O bot não transferiu esta conversa.",
        "de": "Der Bot hat dieses Gespräch nicht übergeben.",
    },
    "messages": {"en": "Messages", "es": "Mensajes", "pt": "Mensagens", "de": "Nachrichten"},
    "author_customer": {"en": "Customer", "es": "Cliente", "pt": "Cliente", "de": "Kunde"},
    "author_bot": {"en": "Bot", "es": "Bot", "pt": "Bot", "de": "Bot"},
    "author_agent": {"en": "Agent", "es": "Agente", "pt": "Agente", "de": "Agent"},
    "author_system": {"en": "System", "es": "Sistema", "pt": "Sistema", "de": "System"},
    "status_received": {"en": "received", "es": "recibido", "pt": "recebida", "de": "empfangen"},
    "status_pending": {"en": "queued", "es": "en cola", "pt": "na fila", "de": "in der Warteschlange"},
    "status_sending": {"en": "sending", "es": "enviando", "pt": "a enviar", "de": "wird gesendet"},
    "status_sent": {"en": "sent", "es": "enviado", "pt": "enviada", "de": "gesendet"},
    "status_delivered": {"en": "delivered", "es": "entregado", "pt": "entregue", "de": "zugestellt"},
    "status_read": {"en": "read", "es": "leído", "pt": "lida", "de": "gelesen"},
    "status_failed": {"en": "failed", "es": "falló", "pt": "falhou", "de": "fehlgeschlagen"},
    "status_cancelled": {"en": "cancelled", "es": "cancelado", "pt": "cancelada", "de": "abgebrochen"},
    "template_sent": {"en": "Template", "es": "Plantilla", "pt": "Modelo", "de": "Vorlage"},
    "take_over": {"en": "Take over", "es": "Tomar el control", "pt": "Assumir", "de": "Übernehmen"},
    "hand_back": {"en": "Hand back", "es": "Devolver al bot", "pt": "Devolver ao bot", "de": "Zurückgeben"},
    "assign": {"en": "Assign…", "es": "Asignar…", "pt": "Atribuir…", "de": "Zuweisen…"},
    "assign_to": {"en": "Assign to", "es": "Asignar a", "pt": "Atribuir a", "de": "Zuweisen an"},
    "assign_do": {"en": "Assign", "es": "Asignar", "pt": "Atribuir", "de": "Zuweisen"},
    "notes": {"en": "Notes", "es": "Notas", "pt": "Notas", "de": "Notizen"},
    "note": {"en": "Note", "es": "Nota", "pt": "Nota", "de": "Notiz"},
    "add_note": {"en": "Add note", "es": "Añadir nota", "pt": "Adicionar nota", "de": "Notiz hinzufügen"},
    "notes_help": {
        "en": "Only your team sees notes; the customer never does.",
        "es": "Solo tu equipo ve las notas; el cliente nunca.",
        "pt": "Só a sua equipa vê as notas; o cliente nunca.",
        "de": "Nur dein Team sieht Notizen, nie der Kunde.",
    },
    "reply": {"en": "Reply", "es": "Respuesta", "pt": "Resposta", "de": "Antwort"},
    "send": {"en": "Send", "es": "Enviar", "pt": "Enviar", "de": "Senden"},
    "bot_has_it": {
        "en": "The bot is answering this conversation. Take over to reply yourself.",
        "es": "El bot está atendiendo esta conversación. Toma el control para responder tú.",
        "pt": "O bot está a atender esta conversa. Assuma para responder você.",
        "de": "Der Bot beantwortet dieses Gespräch. Übernimm es, um selbst zu antworten.",
    },
    "others_have_it": {
        "en": "Another agent has this conversation.",
        "es": "Otro agente tiene esta conversación.",
        "pt": "Outro agente tem esta conversa.",
        "de": "Ein anderer Agent hat dieses Gespräch.",
    },
    "window_closed": {
        "en": "The customer last wrote more than 24 hours ago, so WhatsApp only allows an approved template until they write again.",
        "es": "El cliente escribió por última vez hace más de 24 horas: WhatsApp solo permite una plantilla aprobada hasta que vuelva a escribir.",
        "pt": "O cliente escreveu pela última vez há mais de 24 horas: o WhatsApp só permite um modelo aprovado até voltar a escrever.",
        "de": "Der Kunde hat zuletzt vor mehr als 24 Stunden geschrieben; WhatsApp erlaubt bis zu seiner nächsten Nachricht nur eine genehmigte Vorlage.",
    },
    "template": {"en": "Template", "es": "Plantilla", "pt": "Modelo", "de": "Vorlage"},
    "template_params": {
        "en": "Parameters (separated by |)",
        "es": "Parámetros (separados por |)",
        "pt": "Parâmetros (separados por |)",
        "de": "Parameter (getrennt durch |)",
    },
    "no_templates": {
        "en": "This business has no approved template yet; an admin adds them under /api/templates.",
        "es": "Este negocio aún no tiene plantillas aprobadas; un administrador las añade en /api/templates.",
        "pt": "Este negócio ainda não tem modelos aprovados; um administrador adiciona-os em /api/templates.",
        "de": "Dieses Unternehmen hat noch keine genehmigte Vorlage; ein Admin fügt sie unter /api/templates hinzu.",
    },
    "opted_out": {
        "en": "The customer opted out of messages; they must write START first.",
        "es": "El cliente se dio de baja de los mensajes; primero debe escribir START.",
        "pt": "O cliente cancelou as mensagens; primeiro tem de escrever START.",
        "de": "Der Kunde hat Nachrichten abbestellt; er muss zuerst START schreiben.",
    },
    "failed_action": {
        "en": "That did not work: {detail}",
        "es": "No se pudo: {detail}",
        "pt": "Não foi possível: {detail}",
        "de": "Das hat nicht geklappt: {detail}",
    },
    "window_open_until": {
        "en": "Window open until",
        "es": "Ventana abierta hasta",
        "pt": "Janela aberta até",
        "de": "Fenster offen bis",
    },
    "window_is_closed": {
        "en": "Window closed",
        "es": "Ventana cerrada",
        "pt": "Janela fechada",
        "de": "Fenster geschlossen",
    },
    "new_handoff": {
        "en": "new handoff",
        "es": "nuevo traspaso",
        "pt": "nova transferência",
        "de": "neue Übergabe",
    },
    "unknown": {"en": "unknown", "es": "desconocido", "pt": "desconhecido", "de": "unbekannt"},
}


def pick(cookie: str | None, accept_language: str | None) -> str:
    """The user's chosen language, else the best of the browser's, else English."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT


class Words:
    """``words("take_over")`` in one language (English when a word is missing)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT

    def __call__(self, key: str, **values: object) -> str:
        entry = WORDS.get(key)
        text = entry.get(self.lang) or entry[DEFAULT] if entry else key
        return text.format(**values) if values else text
