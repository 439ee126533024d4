"""Read and change a tenant's settings (``tenants.settings``), for the API and the CLI.

Both check input with the same models (:mod:`gateway.schemas`) and write through
:func:`save` (the receptionist's profile, hours and handoff rules, the redaction rules, the
handoff webhook), which records the change in the audit log (names of the keys, never values).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from agent.tenant import DEFAULT_HANDOFF_KEYWORDS, TenantProfile
from errors import FieldError, UserError
from gateway.schemas import WEEKDAYS, HandoffIn, HoursIn, ProfileIn, ProfileOut
from store import audit
from store.models import Tenant

HOURS_KEYS = ("timezone", "opening_hours", "holidays")
HANDOFF_KEYS = ("handoff_keywords", "max_misses")
PROFILE_KEYS = ("business_name", "persona", "tone", "rules", "default_language")


def save(
    session: Session,
    tenant: Tenant,
    values: dict[str, Any],
    *,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Write ``values`` into the tenant's settings (``None`` removes a key) and audit it.

    The audit line names the keys changed, or says ``details`` instead (counts, a host: never
    the values themselves)."""
    settings = dict(tenant.settings or {})
    for key, value in values.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    tenant.settings = settings
    flag_modified(tenant, "settings")
    audit.append(
        session,
        tenant.id,
        actor=actor,
        action=action,
        subject="tenant-settings",
        details={"keys": sorted(values)} if details is None else details,
    )


# --- profile --------------------------------------------------------------------------------------


def profile_of(tenant: Tenant) -> ProfileOut:
    profile = TenantProfile.from_settings(tenant.name, tenant.settings)
    return ProfileOut(
        business_name=profile.business_name,
        persona=profile.persona,
        tone=profile.tone,
        rules=profile.rules,
        default_language=profile.default_language,
        messages={kind: dict(texts) for kind, texts in profile.messages.items() if texts},
    )


def profile_changes(tenant: Tenant, body: ProfileIn) -> dict[str, Any]:
    """The settings keys ``body`` changes; wording is merged per kind and language."""
    given = body.model_dump(exclude_unset=True)
    values = {key: given[key] for key in PROFILE_KEYS if key in given}
    if "messages" in given:
        merged: dict[str, dict[str, str]] = {
            kind: dict(texts) for kind, texts in dict((tenant.settings or {}).get("messages") or {}).items()
        }
        for kind, texts in (given["messages"] or {}).items():
            current = merged.setdefault(kind, {})
            for lang, text in texts.items():
                if text is None:
                    current.pop(lang, None)
                else:
                    current[lang] = text.strip()
        values["messages"] = {kind: texts for kind, texts in merged.items() if texts} or None
    return values


# --- handoff keywords -----------------------------------------------------------------------------


def handoff_values(body: HandoffIn, *, replace: bool) -> dict[str, Any]:
    """The keywords to store: the defaults plus ``body``'s, or only ``body``'s with ``replace``."""
    given = list(dict.fromkeys(body.handoff_keywords))
    if replace:
        keywords = given
    else:
        keywords = list(DEFAULT_HANDOFF_KEYWORDS) + [
            k for k in given if k.casefold() not in {d.casefold() for d in DEFAULT_HANDOFF_KEYWORDS}
        ]
    return {"handoff_keywords": keywords, "max_misses": body.max_misses}


def handoff_of(tenant: Tenant) -> HandoffIn:
    values = {k: v for k, v in (tenant.settings or {}).items() if k in HANDOFF_KEYS}
    values.setdefault("handoff_keywords", list(DEFAULT_HANDOFF_KEYWORDS))
    return HandoffIn.model_validate(values)


# --- hours ----------------------------------------------------------------------------------------

_SPEC = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<spans>.+?)\s*$", re.IGNORECASE)
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
SPEC_HELP = 'expected "DAYS HH:MM-HH:MM[,HH:MM-HH:MM]" or "DAYS closed", e.g. "mon-fri 09:00-19:00"'


def _days(text: str) -> list[str]:
    days: list[str] = []
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise UserError(f"unknown day in {text!r}: days are {', '.join(WEEKDAYS)}")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days += [WEEKDAYS[(start + i) % 7] for i in range((end - start) % 7 + 1)]
    return days


def parse_hours(specs: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Weekly hours from specs such as ``"mon-fri 09:00-19:00"``, ``"sat 10:00-14:00"`` and
    ``"sun closed"``; a later spec replaces an earlier one's days; unnamed days are closed."""
    week: dict[str, list[tuple[str, str]]] = {}
    for spec in specs:
        match = _SPEC.match(spec)
        if match is None:
            raise UserError(f"invalid hours {spec!r}: {SPEC_HELP}")
        spans: list[tuple[str, str]] = []
        if match["spans"].lower() != "closed":
            for piece in re.split(r"[,\s]+", match["spans"]):
                span = _SPAN.match(piece)
                if span is None:
                    raise UserError(f"invalid hours {spec!r}: {SPEC_HELP}")
                h1, m1, h2, m2 = span.groups()
                spans.append((f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"))
        for day in _days(match["days"]):
            week[day] = spans
    return {day: week.get(day, []) for day in WEEKDAYS}


def hours_of(tenant: Tenant) -> HoursIn:
    return HoursIn.model_validate({k: v for k, v in (tenant.settings or {}).items() if k in HOURS_KEYS})


def checked(model: type[HoursIn] | type[HandoffIn] | type[ProfileIn], data: dict[str, Any]) -> Any:
    """``model`` validated from ``data``, or :class:`FieldError` naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise FieldError(field, str(first["msg"]).removeprefix("Value error, ")) from None
