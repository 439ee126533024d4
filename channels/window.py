"""The 24-hour customer-service window and the choice of an approved template outside it.

Pure functions. The tenant's template registry lives in ``tenant.settings["whatsapp_templates"]``
as a list of objects (``name``, ``language``, ``category``, ``status``, ``body_params``,
``purposes``); :func:`parse_registry` reads it and :func:`update_registry` applies Meta's
template webhooks to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from channels.events import TemplateUpdate

WINDOW = timedelta(hours=24)
REGISTRY_SETTING = "whatsapp_templates"


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name}: naive datetime; use timezone-aware UTC")
    return value


def within_window(last_customer_message_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may be sent: the customer wrote less than 24 hours ago.

    Only the customer's messages open the window; our own replies do not extend it.
    """
    if last_customer_message_at is None:
        return False
    last = _aware(last_customer_message_at, "last_customer_message_at")
    return _aware(now, "now") - last < WINDOW


def window_closes_at(last_customer_message_at: datetime | None) -> datetime | None:
    """When the window closes (``None`` when it was never opened)."""
    return None if last_customer_message_at is None else last_customer_message_at + WINDOW


@dataclass(frozen=True)
class Template:
    """A template of the tenant's registry; ``purposes`` says what it may be used for."""

    name: str
    language: str
    category: str = "UTILITY"
    status: str = "APPROVED"
    body_params: int = 0
    purposes: frozenset[str] = frozenset()

    @property
    def approved(self) -> bool:
        return self.status.upper() == "APPROVED"


def _lang(code: str | None) -> str:
    return (code or "").strip().replace("-", "_").lower()


def _base(code: str) -> str:
    return code.split("_", 1)[0]


def parse_registry(raw: Any) -> list[Template]:
    """Templates from the tenant setting; malformed entries are skipped, never fatal."""
    result: list[Template] = []
    if not isinstance(raw, list):
        return result
    for item in cast(list[Any], raw):
        if not isinstance(item, Mapping):
            continue
        entry = cast(Mapping[str, Any], item)
        name, language = entry.get("name"), entry.get("language")
        if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
            continue
        params = entry.get("body_params", 0)
        purposes = entry.get("purposes", [])
        result.append(
            Template(
                name=name,
                language=language,
                category=str(entry.get("category") or "UTILITY").upper(),
                status=str(entry.get("status") or "APPROVED").upper(),
                body_params=params if isinstance(params, int) and params >= 0 else 0,
                purposes=frozenset(p for p in cast(list[Any], purposes) if isinstance(p, str))
                if isinstance(purposes, list)
                else frozenset(),
            )
        )
    return result


def update_registry(registry: Iterable[Template], update: TemplateUpdate) -> list[Template]:
    """The registry after Meta's status or category change for a template (same order)."""
    result: list[Template] = []
    for template in registry:
        same = template.name == update.name and _lang(template.language) == _lang(update.language)
        if same and update.update == "status" and update.status:
            template = replace(template, status=update.status.upper())
        elif same and update.update == "category" and update.category:
            template = replace(template, category=update.category.upper())
        result.append(template)
    return result


def choose_template(
    registry: Iterable[Template],
    *,
    purpose: str,
    language: str | None,
    default_language: str | None,
    max_params: int | None = None,
    allow_marketing: bool = False,
) -> Template | None:
    """An approved template for ``purpose`` in the customer's language, or ``None``.

    Language preference: exact code (``es_AR``), the plain base language (``es``), any regional
    sibling (``es_MX``), then the same three steps for the tenant's default language. Within a step the registry's order
    wins. ``max_params``: only templates needing at most that many body parameters (the
    caller passes the first ``body_params`` of its values). Marketing templates are skipped
    unless ``allow_marketing`` (service follow-ups must not be marketing).
    """
    usable = [
        t
        for t in registry
        if t.approved
        and purpose in t.purposes
        and (allow_marketing or t.category.upper() != "MARKETING")
        and (max_params is None or t.body_params <= max_params)
    ]
    for wanted in (_lang(language), _lang(default_language)):
        if not wanted:
            continue
        # Exact code, then the plain base language, then any regional sibling.
        for candidates in ((wanted,), (_base(wanted),), None):
            for template in usable:
                code = _lang(template.language)
                if code in candidates if candidates else _base(code) == _base(wanted):
                    return template
    return None


@dataclass(frozen=True)
class OutboundPlan:
    """What to do with a bot message: send it, send a template instead, hand over, or drop."""

    action: Literal["send_text", "send_template", "handoff", "suppress"]
    reason: str
    template: Template | None = None


def plan_outbound(
    *,
    last_customer_message_at: datetime | None,
    now: datetime,
    opted_out: bool,
    registry: Iterable[Template],
    purpose: str,
    language: str | None,
    default_language: str | None,
    max_params: int | None = None,
) -> OutboundPlan:
    """The WhatsApp rules for one bot message, in order: opt-out, window, template, human."""
    if opted_out:
        return OutboundPlan("suppress", "the customer opted out of bot messages")
    if within_window(last_customer_message_at, now):
        return OutboundPlan("send_text", "inside the 24-hour window")
    template = choose_template(
        registry, purpose=purpose, language=language, default_language=default_language, max_params=max_params
    )
    if template is not None:
        return OutboundPlan("send_template", "outside the 24-hour window: approved template", template)
    return OutboundPlan("handoff", "outside the 24-hour window and no approved template fits")
