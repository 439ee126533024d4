"""Conversation endpoints for agents (their own and unassigned conversations) and supervisors
(every conversation of the tenant, and assignment): messages, takeover, reply, handback, notes,
the handoff summary, and a live event stream.

A conversation an agent may not see answers 404, exactly like another tenant's id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.window import window_closes_at, within_window
from errors import NotFound
from gateway import actions
from gateway.deps import Principal, Services, Staff, Supervisor, still_signed_in
from gateway.live import stream
from gateway.schemas import (
    AssignIn,
    ContactOut,
    ConversationDetailOut,
    ConversationOut,
    HandoffOut,
    IdPath,
    MessageOut,
    ModeOut,
    NoteIn,
    NoteOut,
    ReplyIn,
    ReplyOut,
)
from gateway.services import GatewayServices
from store.identity import number_of
from store.models import Contact, Conversation, Message
from store.sealed import unseal

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
events_router = APIRouter(tags=["conversations"])


def _out(services: GatewayServices, session: Session, c: Conversation) -> ConversationOut:
    contact = session.get(Contact, c.contact_id)
    if contact is None:
        raise NotFound("no such conversation")
    return ConversationOut(
        id=c.id,
        mode=c.mode,
        epoch=c.epoch,
        assigned_agent_id=c.assigned_agent_id,
        last_customer_message_at=c.last_customer_message_at,
        window_open=within_window(c.last_customer_message_at, services.clock()),
        window_closes_at=window_closes_at(c.last_customer_message_at),
        updated_at=c.updated_at,
        test=c.test,
        contact=ContactOut(
            id=contact.id,
            wa_id=number_of(services.db.keyring, contact),
            name=unseal(services.db.keyring, contact, "profile_name_ciphertext"),
            opted_out=contact.opted_out,
        ),
    )


Assigned = Literal["me", "none", "any"]


@router.get("", response_model=list[ConversationOut])
def list_conversations(
    who: Staff,
    services: Services,
    mode: Annotated[str | None, Query(pattern="^(bot|human)$")] = None,
    test: Annotated[bool | None, Query(description="Only sandboxes of `frontdesk chat` (or none).")] = None,
    assigned: Annotated[Assigned, Query(description="me, none (unassigned) or any")] = "any",
    needs_human: Annotated[bool, Query(description="Handed to humans and not yet claimed.")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ConversationOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        query = select(Conversation).where(*actions.visible(who))
        if mode:
            query = query.where(Conversation.mode == mode)
        if test is not None:
            query = query.where(Conversation.test.is_(test))
        if assigned == "me":
            query = query.where(Conversation.assigned_agent_id == who.user_id)
        elif assigned == "none":
            query = query.where(Conversation.assigned_agent_id.is_(None))
        if needs_human:
            query = query.where(Conversation.mode == "human", Conversation.assigned_agent_id.is_(None))
        rows = session.scalars(
            query.order_by(Conversation.updated_at.desc(), Conversation.id).limit(limit).offset(offset)
        ).all()
        return [_out(services, session, c) for c in rows]


@router.get("/{conversation_id}", response_model=ConversationDetailOut)
def get_conversation(conversation_id: IdPath, who: Staff, services: Services) -> ConversationDetailOut:
    """The conversation, with the latest handoff's reason and summary for the human."""
    with services.db.tenant_session(who.tenant_id) as session:
        out = _out(services, session, actions.find(session, who, conversation_id))
        handoff = actions.latest_handoff(services, session, conversation_id)
        unread = actions.unanswered(session, conversation_id)
    return ConversationDetailOut(
        **out.model_dump(),
        handoff=HandoffOut(reason=handoff.reason, summary=handoff.summary, at=handoff.at)
        if handoff
        else None,
        unanswered=unread,
    )


@router.get("/{conversation_id}/messages", response_model=list[MessageOut])
def list_messages(
    conversation_id: IdPath,
    who: Staff,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[MessageOut]:
    keyring = services.db.keyring
    with services.db.tenant_session(who.tenant_id) as session:
        actions.find(session, who, conversation_id)
        rows = session.scalars(
            select(Message)
            .where(Message.tenant_id == who.tenant_id, Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return [
            MessageOut(
                id=m.id,
                direction=m.direction,
                author=m.author,
                kind=m.kind,
                body=unseal(keyring, m, "body_ciphertext"),
                media_id=m.media_id,
                status=m.status,
                error_code=m.error_code,
                created_at=m.created_at,
            )
            for m in rows
        ]


@router.post("/{conversation_id}/takeover", response_model=ModeOut)
def takeover(conversation_id: IdPath, who: Staff, services: Services) -> ModeOut:
    change = actions.takeover(services, who, conversation_id)
    return ModeOut(
        conversation_id=conversation_id,
        mode=change.mode,
        epoch=change.epoch,
        assigned_agent_id=change.agent_id,
        cancelled_outbox=change.cancelled_outbox,
    )


@router.post("/{conversation_id}/handback", response_model=ModeOut)
def handback(conversation_id: IdPath, who: Staff, services: Services) -> ModeOut:
    change = actions.handback(services, who, conversation_id)
    return ModeOut(
        conversation_id=conversation_id,
        mode=change.mode,
        epoch=change.epoch,
        assigned_agent_id=None,
        cancelled_outbox=change.cancelled_outbox,
    )


@router.post("/{conversation_id}/reply", response_model=ReplyOut, status_code=202)
def reply(
    conversation_id: IdPath,
    body: ReplyIn,
    who: Staff,
    services: Services,
    idempotency_key: Annotated[str | None, Header(max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
) -> ReplyOut:
    """Queue an agent's reply. Free text needs the customer's 24-hour window to be open;
    outside it the answer is 409 and only an approved template may be sent."""
    if (body.text is None) == (body.template is None):
        raise HTTPException(422, "send either text or a template")
    template = None
    if body.template is not None:
        ref = body.template
        template = actions.TemplateChoice(ref.name, ref.language, list(ref.params))
    try:
        queued = actions.reply(
            services, who, conversation_id, text=body.text, template=template, idempotency_key=idempotency_key
        )
    except actions.TemplateParams as exc:
        raise HTTPException(422, str(exc)) from None
    return ReplyOut(outbox_id=queued.outbox_id, kind=queued.kind, status=queued.status)


@router.get("/{conversation_id}/notes", response_model=list[NoteOut])
def list_notes(conversation_id: IdPath, who: Staff, services: Services) -> list[NoteOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        actions.find(session, who, conversation_id)
        found = actions.notes(services, session, who, conversation_id)
    return [NoteOut(id=n.id, author_id=n.author_id, body=n.body, created_at=n.created_at) for n in found]


@router.post("/{conversation_id}/notes", response_model=NoteOut, status_code=201)
def add_note(conversation_id: IdPath, body: NoteIn, who: Staff, services: Services) -> NoteOut:
    n = actions.add_note(services, who, conversation_id, body.body)
    return NoteOut(id=n.id, author_id=n.author_id, body=n.body, created_at=n.created_at)


@router.post("/{conversation_id}/assign", response_model=ConversationOut)
def assign(conversation_id: IdPath, body: AssignIn, who: Supervisor, services: Services) -> ConversationOut:
    actions.assign(services, who, conversation_id, body.agent_id)
    with services.db.tenant_session(who.tenant_id) as session:
        return _out(services, session, actions.find(session, who, conversation_id))


@events_router.get(
    "/api/events",
    summary="Live conversation events (Server-Sent Events)",
    response_class=StreamingResponse,
)
async def events(
    request: Request,
    who: Staff,
    services: Services,
    seconds: Annotated[float | None, Query(ge=0, le=86400, description="Close after this long.")] = None,
) -> StreamingResponse:
    """``event: conversation`` with ``{"tenant_id", "conversation_id", "kind", "at"}`` for every
    change in the tenant (kind: message, handoff, takeover, handback, assigned, reply, note);
    read the conversation back for its details. Keep-alive comments every few seconds. The
    stream ends when the user is disabled, changes role or its token expires."""
    return StreamingResponse(
        stream(
            services.events,
            who.tenant_id,
            _until_signed_out(services, who, request.is_disconnected),
            actions.latest_change(services, who.tenant_id),
            seconds,
        ),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


ACCESS_RECHECK_SECONDS = 30.0
"""How often an open event stream checks that its user may still read it."""


def _until_signed_out(
    services: GatewayServices, who: Principal, disconnected: Callable[[], Awaitable[bool]]
) -> Callable[[], Awaitable[bool]]:
    """``disconnected``, or the user lost access (checked at most every ACCESS_RECHECK_SECONDS)."""
    next_check = time.monotonic() + ACCESS_RECHECK_SECONDS

    async def gone() -> bool:
        nonlocal next_check
        if await disconnected():
            return True
        if time.monotonic() < next_check:
            return False
        next_check = time.monotonic() + ACCESS_RECHECK_SECONDS
        return not await run_in_threadpool(still_signed_in, services, who)

    return gone
