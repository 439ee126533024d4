"""Settings endpoints: the receptionist's profile and wording, opening hours, handoff rules.

Every handler runs in the signed-in admin's tenant session; changes are audited (key names only).
The CLI (``frontdesk tenants configure``, ``frontdesk hours``, ``frontdesk handoff``) goes through
the same checks and writes (:mod:`gateway.tenant_settings`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from gateway import tenant_settings as ts
from gateway.deps import Admin, Principal, Services
from gateway.schemas import HandoffIn, HoursIn, ProfileIn, ProfileOut
from store.models import Tenant
from store.repo import tenants

router = APIRouter(prefix="/api/settings", tags=["settings"])


def _tenant(session: Session, who: Principal) -> Tenant:
    return tenants.get(session, who.tenant_id)


@router.get("/profile", response_model=ProfileOut)
def get_profile(who: Admin, services: Services) -> ProfileOut:
    with services.db.tenant_session(who.tenant_id) as session:
        return ts.profile_of(_tenant(session, who))


@router.put("/profile", response_model=ProfileOut)
def set_profile(body: ProfileIn, who: Admin, services: Services) -> ProfileOut:
    """Change the persona, tone, rules, default language and wording (omitted fields are kept)."""
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = _tenant(session, who)
        ts.save(session, tenant, ts.profile_changes(tenant, body), actor=who.actor, action="config.profile")
        return ts.profile_of(tenant)


@router.get("/hours", response_model=HoursIn)
def get_hours(who: Admin, services: Services) -> HoursIn:
    with services.db.tenant_session(who.tenant_id) as session:
        return ts.hours_of(_tenant(session, who))


@router.put("/hours", response_model=HoursIn)
def set_hours(body: HoursIn, who: Admin, services: Services) -> HoursIn:
    """Opening hours; a weekday left out is closed. Empty ``opening_hours``: not configured."""
    with services.db.tenant_session(who.tenant_id) as session:
        values = body.model_dump(mode="json")
        values["opening_hours"] = values["opening_hours"] or None
        ts.save(session, _tenant(session, who), values, actor=who.actor, action="config.hours")
    return body


@router.delete("/hours", status_code=204)
def clear_hours(who: Admin, services: Services) -> Response:
    """Forget the opening hours: the receptionist answers hours from the knowledge base."""
    with services.db.tenant_session(who.tenant_id) as session:
        values = {"opening_hours": None, "holidays": None}
        ts.save(session, _tenant(session, who), values, actor=who.actor, action="config.hours")
    return Response(status_code=204)


@router.get("/handoff", response_model=HandoffIn)
def get_handoff(who: Admin, services: Services) -> HandoffIn:
    with services.db.tenant_session(who.tenant_id) as session:
        return ts.handoff_of(_tenant(session, who))


@router.put("/handoff", response_model=HandoffIn)
def set_handoff(
    body: HandoffIn,
    who: Admin,
    services: Services,
    replace: Annotated[
        bool, Query(description="Replace the default keywords instead of adding to them.")
    ] = False,
) -> HandoffIn:
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = _tenant(session, who)
        ts.save(
            session,
            tenant,
            ts.handoff_values(body, replace=replace),
            actor=who.actor,
            action="config.handoff",
        )
        return ts.handoff_of(tenant)
