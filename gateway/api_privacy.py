"""Privacy endpoints for admins: find a customer, export, erase, consent, retention.

Every call is audited (ids and counts only). A number is looked up in a request body, never
in a URL (URLs end up in access logs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from channels.optout import apply_consent
from errors import NotFound
from gateway.deps import Admin, Principal, Services
from gateway.schemas import IdPath
from store import audit, retention
from store.models import Contact, Tenant
from store.privacy import find_by_number
from workers import privacy

router = APIRouter(prefix="/api", tags=["privacy"])


class LookupIn(BaseModel):
    wa_id: str = Field(min_length=1, max_length=32, pattern=r"^\+?[0-9 ()-]{1,32}$")


class LookupOut(BaseModel):
    contact_id: int | None
    """None: the tenant has no customer with that number."""


class ConsentIn(BaseModel):
    action: Literal["opt_in", "opt_out"]
    wording: str | None = Field(default=None, max_length=2000)
    """What the customer was shown or told when they gave or withdrew consent."""
    language: str | None = Field(default=None, max_length=16)


class ConsentOut(BaseModel):
    contact_id: int
    opted_out: bool
    changed: bool
    at: datetime


class RetentionIn(BaseModel):
    days: dict[str, int]


class RetentionOut(BaseModel):
    days: dict[str, int]
    defaults: dict[str, int]
    audit_days_minimum: int


def _contact(services: Services, who: Principal, contact_id: int) -> None:
    with services.db.tenant_session(who.tenant_id) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.tenant_id != who.tenant_id:
            raise NotFound("no such contact")


@router.post("/contacts/lookup", response_model=LookupOut)
def lookup(body: LookupIn, who: Admin, services: Services) -> LookupOut:
    """The contact id of a customer of this tenant, by WhatsApp number."""
    with services.db.tenant_session(who.tenant_id) as session:
        contact = find_by_number(session, services.db, who.tenant_id, body.wa_id)
        found = None if contact is None else contact.id
        subject = None if found is None else f"contact:{found}"
        audit.append(session, who.tenant_id, actor=who.actor, action="privacy.lookup", subject=subject)
        return LookupOut(contact_id=found)


@router.get("/contacts/{contact_id}/export")
def export(contact_id: IdPath, who: Admin, services: Services) -> dict[str, Any]:
    """Everything held about the customer (right of access), decrypted; audited."""
    _contact(services, who, contact_id)
    return privacy.export_customer(services.privacy_services(), who.tenant_id, contact_id, actor=who.actor)


@router.delete("/contacts/{contact_id}")
def erase(contact_id: IdPath, who: Admin, services: Services) -> dict[str, Any]:
    """Erase the customer everywhere (cannot be undone); returns the counts removed."""
    _contact(services, who, contact_id)
    return privacy.erase_customer(services.privacy_services(), who.tenant_id, contact_id, actor=who.actor)


@router.post("/contacts/{contact_id}/consent", response_model=ConsentOut)
def consent(contact_id: IdPath, body: ConsentIn, who: Admin, services: Services) -> ConsentOut:
    """Record an opt-in or opt-out the customer gave outside WhatsApp (source ``api``)."""
    now = services.clock()
    with services.db.tenant_session(who.tenant_id) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.tenant_id != who.tenant_id:
            raise NotFound("no such contact")
        changed = apply_consent(
            session, contact, body.action, now, source="api", wording=body.wording, language=body.language
        )
        audit.append(
            session,
            who.tenant_id,
            actor=who.actor,
            action=f"consent.{body.action}",
            subject=f"contact:{contact_id}",
            details={"source": "api", "changed": changed, "at": now.isoformat()},
        )
        return ConsentOut(contact_id=contact_id, opted_out=contact.opted_out, changed=changed, at=now)


@router.get("/settings/retention", response_model=RetentionOut)
def get_retention(who: Admin, services: Services) -> RetentionOut:
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = session.get(Tenant, who.tenant_id)
        days = retention.policy(tenant.settings if tenant else None)
    return RetentionOut(days=days, defaults=retention.DEFAULTS, audit_days_minimum=retention.AUDIT_DAYS)


@router.put("/settings/retention", response_model=RetentionOut)
def set_retention(body: RetentionIn, who: Admin, services: Services) -> RetentionOut:
    """Change how many days each data type is kept (unknown types and days below the minimum: 422)."""
    with services.db.tenant_session(who.tenant_id) as session:
        days = retention.set_policy(session, who.tenant_id, body.days, actor=who.actor)
    return RetentionOut(days=days, defaults=retention.DEFAULTS, audit_days_minimum=retention.AUDIT_DAYS)
