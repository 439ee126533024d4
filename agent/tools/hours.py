"""``business_hours()``: open or closed now, and the week's hours, in the tenant's timezone,
worded in the customer's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.tenant import TenantProfile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
WORDS = {
    "en": {"now": "Now", "open": "we are OPEN", "closed": "we are CLOSED", "hours": "Opening hours", "shut": "closed", "holidays": "Closed on holidays"},
    "es": {"now": "Ahora", "open": "estamos ABIERTOS", "closed": "estamos CERRADOS", "hours": "Horario", "shut": "cerrado", "holidays": "Cerrado los festivos"},
    "pt": {"now": "Agora", "open": "estamos ABERTOS", "closed": "estamos FECHADOS", "hours": "Horário", "shut": "fechado", "holidays": "Fechado nos feriados"},
    "de": {"now": "Jetzt", "open": "wir haben GEÖFFNET", "closed": "wir haben GESCHLOSSEN", "hours": "Öffnungszeiten", "shut": "geschlossen", "holidays": "Geschlossen an Feiertagen"},
}  # fmt: skip


def _zone(profile: TenantProfile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_open(profile: TenantProfile, now: datetime) -> bool:
    """Whether the business is open at ``now`` (aware datetime)."""
    local = now.astimezone(_zone(profile))
    if local.date().isoformat() in profile.holidays:
        return False
    hhmm = local.strftime("%H:%M")
    return any(start <= hhmm < end for start, end in profile.opening_hours.get(WEEKDAYS[local.weekday()], []))


def describe_hours(profile: TenantProfile, now: datetime, language: str = "en") -> str:
    """A plain-text answer the model (or the extractive provider) can use as it is."""
    lang = language if language in WORDS else "en"
    words, days = WORDS[lang], DAY_NAMES[lang]
    local = now.astimezone(_zone(profile))
    state = words["open"] if is_open(profile, now) else words["closed"]
    lines = [
        f"{words['now']}: {days[local.weekday()]} {local.date().isoformat()} {local.strftime('%H:%M')} "
        f"({profile.timezone}), {state}.",
        f"{words['hours']}:",
    ]
    for key, name in zip(WEEKDAYS, days, strict=True):
        ranges = profile.opening_hours.get(key, [])
        lines.append(f"- {name}: " + (", ".join(f"{a}-{b}" for a, b in ranges) if ranges else words["shut"]))
    upcoming = sorted(d for d in profile.holidays if d >= local.date().isoformat())[:5]
    if upcoming:
        lines.append(f"{words['holidays']}: " + ", ".join(upcoming))
    return "\n".join(lines)
