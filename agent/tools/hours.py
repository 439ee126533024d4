"""``business_hours()``: open or closed now, and the week's hours, in the tenant's timezone,
worded in the customer's language; and when the team is back, for an out-of-hours handoff.

Hours that were never set are *not configured*: nothing here claims the business is closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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
NOT_CONFIGURED = (
    "The business has not configured its opening hours in the settings, so this tool cannot say "
    "whether it is open. Answer from the knowledge base passages (search_knowledge); do not say "
    "the business is closed."
)
HOURS_QUERY = {
    "en": "opening hours open close",
    "es": "horario apertura abrimos cerramos",
    "pt": "horário funcionamento abrimos fechamos",
    "de": "Öffnungszeiten geöffnet geschlossen",
}
"""What the knowledge base is searched for when the hours are not configured."""
# {day} {date} {time}: today, tomorrow, within a week, later.
_BACK = {
    "en": ("today at {time}", "tomorrow at {time}", "on {day} at {time}", "on {day} {date} at {time}"),
    "es": ("hoy a las {time}", "mañana a las {time}", "el {day} a las {time}", "el {day} {date} a las {time}"),
    "pt": ("hoje às {time}", "amanhã às {time}", "{on} {day} às {time}", "{on} {day}, {date}, às {time}"),
    "de": ("heute um {time} Uhr", "morgen um {time} Uhr", "am {day} um {time} Uhr", "am {day}, {date}, um {time} Uhr"),
}  # fmt: skip
LOOKAHEAD_DAYS = 31


def _zone(profile: TenantProfile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_open(profile: TenantProfile, now: datetime) -> bool:
    """Whether the business is open at ``now`` (aware datetime); hours not configured: ``False``."""
    local = now.astimezone(_zone(profile))
    if local.date().isoformat() in profile.holidays:
        return False
    hhmm = local.strftime("%H:%M")
    return any(start <= hhmm < end for start, end in profile.opening_hours.get(WEEKDAYS[local.weekday()], []))


def is_closed(profile: TenantProfile, now: datetime) -> bool:
    """Whether the business is known to be closed at ``now`` (never when hours are not configured)."""
    return profile.hours_configured and not is_open(profile, now)


def next_opening(profile: TenantProfile, now: datetime) -> datetime | None:
    """The next opening after ``now`` in the tenant's timezone, within a month; ``None`` if none."""
    if not profile.hours_configured:
        return None
    local = now.astimezone(_zone(profile))
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = (local + timedelta(days=offset)).date()
        if day.isoformat() in profile.holidays:
            continue
        for start, _end in sorted(profile.opening_hours.get(WEEKDAYS[day.weekday()], [])):
            hour, minute = (int(x) for x in start.split(":"))
            moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=local.tzinfo)
            if moment > local:
                return moment
    return None


def back_at(profile: TenantProfile, now: datetime, language: str = "en") -> str | None:
    """When the team is back, worded for the customer ("mañana a las 09:00"); ``None`` if unknown."""
    moment = next_opening(profile, now)
    if moment is None:
        return None
    lang = language if language in _BACK else "en"
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    pattern = _BACK[lang][0 if days == 0 else 1 if days == 1 else 2 if days < 7 else 3]
    weekday = moment.weekday()
    return pattern.format(
        time=moment.strftime("%H:%M"),
        day=DAY_NAMES[lang][weekday],
        date=moment.date().isoformat(),
        on="no" if weekday >= 5 else "na",
    )


def describe_hours(profile: TenantProfile, now: datetime, language: str = "en") -> str:
    """A plain-text answer the model (or the extractive provider) can use as it is."""
    if not profile.hours_configured:
        return NOT_CONFIGURED
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
