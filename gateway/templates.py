"""The tenant's WhatsApp template registry: the ``message_templates`` table is the source of
truth; every change is mirrored into ``tenants.settings["whatsapp_templates"]``, which
:func:`channels.window.parse_registry` reads (the outbox sender's window gate,
``workers.window_gate``, reads it from there)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from channels.window import REGISTRY_SETTING, Template, parse_registry
from store.models import MessageTemplate, Tenant


def as_setting(row: MessageTemplate) -> dict[str, Any]:
    return {
        "name": row.name,
        "language": row.language,
        "category": row.category,
        "status": row.status,
        "body_params": row.body_params,
        "purposes": list(row.purposes or []),
    }


def registry(session: Session, tenant_id: int) -> list[Template]:
    """The tenant's templates as :class:`channels.window.Template` (registry order: by name)."""
    rows = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.tenant_id == tenant_id)
        .order_by(MessageTemplate.name, MessageTemplate.language)
    ).all()
    return parse_registry([as_setting(r) for r in rows])


def sync_settings_registry(session: Session, tenant_id: int) -> None:
    """Rewrite the settings mirror from the table (in the caller's transaction)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return
    rows = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.tenant_id == tenant_id)
        .order_by(MessageTemplate.name, MessageTemplate.language)
    ).all()
    settings = dict(tenant.settings or {})
    settings[REGISTRY_SETTING] = [as_setting(r) for r in rows]
    tenant.settings = settings
    flag_modified(tenant, "settings")
    session.flush()
