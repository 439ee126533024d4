"""The 24-hour window, applied by the sender itself before the Cloud API call.

A free-form text goes out only inside the customer-service window. Outside it a bot message
becomes the tenant's approved template in the customer's language, or — when none fits — the
conversation goes to a human with the reason (audited); a human agent's text is refused
(the API offers templates for that). :func:`channels.window.plan_outbound` decides. A bot
message to a customer who opted out meanwhile is cancelled, inside the window too.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update

from channels.window import REGISTRY_SETTING, OutboundPlan, parse_registry, plan_outbound, within_window
from store import audit
from store.db import Database
from store.models import Contact, Conversation, OutboxItem, Tenant, utcnow
from textnorm import Language, detect_language
from workers.outbox import FENCED_AUTHORS, Claim, SendOutcome

OUTSIDE_WINDOW = "outside_window"
OPTED_OUT = "opted_out"


def plan_for(
    claim: Claim, last_customer_message_at: datetime | None, opted_out: bool, settings: Any
) -> OutboundPlan:
    """What the window rules do with this claimed text (the tenant's registry and language).

    A ``system`` item is the handoff notice: it needs a template for the ``handoff`` purpose;
    the bot's replies one for ``reply``."""
    settings = cast(dict[str, Any], settings or {})
    default = str(settings.get("default_language") or "en")
    language = detect_language(claim.text, cast(Language, default))
    return plan_outbound(
        last_customer_message_at=last_customer_message_at,
        now=utcnow(),
        opted_out=opted_out,
        registry=parse_registry(settings.get(REGISTRY_SETTING)),
        purpose="handoff" if claim.author == "system" else "reply",
        language=language,
        default_language=default,
        max_params=0,  # the sender has no values for a template's parameters
    )


def apply_window(db: Database, tenant_id: int, outbox_id: int, claim: Claim) -> Claim | SendOutcome:
    """The claim to send (maybe as a template), or what happened instead (failed, cancelled)."""
    if claim.kind != "text":
        return claim
    if claim.opted_out and claim.author in FENCED_AUTHORS:  # the customer wrote STOP meanwhile
        return _suppress(db, tenant_id, outbox_id)
    if claim.customer_wrote_at is not None and within_window(claim.customer_wrote_at, utcnow()):
        return claim  # the usual case: no read
    with db.tenant_session(tenant_id) as session:
        row = session.execute(
            select(Conversation.last_customer_message_at, Contact.opted_out, Tenant.settings)
            .join(Contact, Contact.id == Conversation.contact_id)
            .join(Tenant, Tenant.id == Conversation.tenant_id)
            .where(Conversation.id == claim.conversation_id)
        ).one()
        if within_window(row.last_customer_message_at, utcnow()):
            return claim
        if claim.author == "agent":  # a human's text outside the window: they must send a template
            _fail(session, outbox_id, OUTSIDE_WINDOW)
            return SendOutcome("failed", error=OUTSIDE_WINDOW)
        plan = plan_for(claim, row.last_customer_message_at, bool(row.opted_out), row.settings)
        if plan.action == "send_text":
            return claim
        if plan.action == "send_template":
            assert plan.template is not None
            body = {"name": plan.template.name, "language": plan.template.language, "params": []}
            return replace(claim, kind="template", text=json.dumps(body))
        if plan.action == "suppress":
            return _suppress(db, tenant_id, outbox_id, session)
        session.execute(
            update(Conversation)
            .where(Conversation.id == claim.conversation_id, Conversation.mode == "bot")
            .values(mode="human", epoch=Conversation.epoch + 1, updated_at=utcnow())
        )
        _fail(session, outbox_id, OUTSIDE_WINDOW)
        audit.append(
            session,
            tenant_id,
            actor="system:sender",
            action="conversation.handoff",
            subject=f"conversation:{claim.conversation_id}",
            details={"reason": plan.reason, "outbox_id": outbox_id},
        )
        return SendOutcome("failed", error=OUTSIDE_WINDOW)


def _suppress(db: Database, tenant_id: int, outbox_id: int, session: Any = None) -> SendOutcome:
    """Cancel a bot message to a customer who opted out."""
    cancel = (
        update(OutboxItem).where(OutboxItem.id == outbox_id).values(status="cancelled", last_error=OPTED_OUT)
    )
    if session is not None:
        session.execute(cancel)
    else:
        with db.tenant_session(tenant_id) as own:
            own.execute(cancel)
    return SendOutcome("cancelled", error=OPTED_OUT)


def _fail(session: Any, outbox_id: int, error: str) -> None:
    session.execute(
        update(OutboxItem).where(OutboxItem.id == outbox_id).values(status="failed", last_error=error)
    )
