"""``business_hours()``: open or closed now, and the week's hours, in the tenant's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.tenant import TenantProfile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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


def describe_hours(profile: TenantProfile, now: datetime) -> str:
    """A plain-text answer the model (or the extractive provider) can use."""
    local = now.astimezone(_zone(profile))
    lines = [
        f"Now: {DAY_NAMES[local.weekday()]} {local.date().isoformat()} {local.strftime('%H:%M')} "
        f"({profile.timezone}); the business is {'OPEN' if is_open(profile, now) else 'CLOSED'}.",
        "Opening hours:",
    ]
    for key, name in zip(WEEKDAYS, DAY_NAMES, strict=True):
        ranges = profile.opening_hours.get(key, [])
        lines.append(f"- {name}: " + (", ".join(f"{a}-{b}" for a, b in ranges) if ranges else "closed"))
    upcoming = sorted(d for d in profile.holidays if d >= local.date().isoformat())[:5]
    if upcoming:
        lines.append("Closed on holidays: " + ", ".join(upcoming))
    return "\n".join(lines)
