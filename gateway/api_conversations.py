"""Conversation endpoints for agents (their own and unassigned conversations) and supervisors
(every conversation of the tenant, and assignment): messages, takeover, reply, handback, notes.

A conversation an agent may not see answers 404, exactly like another tenant's id.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from channels.window import window_closes_at, within_window
from gateway.deps import Principal, Services, Staff, Supervisor
from gateway.schemas import (
    AssignIn,
    ContactOut,
    ConversationOut,
    IdPath,
    MessageOut,
    ModeOut,
    NoteIn,
    NoteOut,
    ReplyIn,
    ReplyOut,
)
from gateway.services import GatewayServices
from gateway.templates import registry
from store import audit
from store.errors import NotFound
from store.models import Contact, Conversation, ConversationNote, Message, OutboxItem, User
from store.sealed import seal, unseal
from workers.outbox import insert_outbox
from workers.takeover import hand_back, take_over

router = APIRouter(prefix="/api/conversations", tags=["conversations"])

TAKEOVER_WAIT = 30.0


def _visible(who: Principal) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Conversation.tenant_id == who.tenant_id]
    if who.role == "agent":
        conditions.append(
            or_(Conversation.assigned_agent_id == who.user_id, Conversation.assigned_agent_id.is_(None))
        )
    return conditions


def _conversation(session: Session, who: Principal, conversation_id: int) -> Conversation:
    row = session.scalar(select(Conversation).where(Conversation.id == conversation_id, *_visible(who)))
    if row is None:
        raise NotFound("no such conversation")
    return row


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
            wa_id=contact.wa_id,
            name=unseal(services.db.keyring, contact, "profile_name_ciphertext"),
            opted_out=contact.opted_out,
        ),
    )


def _audit(session: Session, who: Principal, action: str, conversation_id: int, **details: object) -> None:
    audit.append(
        session,
        who.tenant_id,
        actor=who.actor,
        action=action,
        subject=f"conversation:{conversation_id}",
        details=dict(details),
    )


@router.get("", response_model=list[ConversationOut])
def list_conversations(
    who: Staff,
    services: Services,
    mode: Annotated[str | None, Query(pattern="^(bot|human)$")] = None,
    test: Annotated[bool | None, Query(description="Only sandboxes of `frontdesk chat` (or none).")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ConversationOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        query = select(Conversation).where(*_visible(who))
        if mode:
            query = query.where(Conversation.mode == mode)
        if test is not None:
            query = query.where(Conversation.test.is_(test))
        rows = session.scalars(
            query.order_by(Conversation.updated_at.desc(), Conversation.id).limit(limit).offset(offset)
        ).all()
        return [_out(services, session, c) for c in rows]


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: IdPath, who: Staff, services: Services) -> ConversationOut:
    with services.db.tenant_session(who.tenant_id) as session:
        return _out(services, session, _conversation(session, who, conversation_id))


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
        _conversation(session, who, conversation_id)
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
    with services.db.tenant_session(who.tenant_id) as session:
        _conversation(session, who, conversation_id)
    change = take_over(services.db, who.tenant_id, conversation_id, who.user_id, wait=TAKEOVER_WAIT)
    with services.db.tenant_session(who.tenant_id) as session:
        _audit(
            session,
            who,
            "conversation.takeover",
            conversation_id,
            epoch=change.epoch,
            cancelled_outbox=change.cancelled_outbox,
            in_doubt_sends=change.in_doubt_sends,
        )
    return ModeOut(
        conversation_id=conversation_id,
        mode=change.mode,
        epoch=change.epoch,
        assigned_agent_id=change.agent_id,
        cancelled_outbox=change.cancelled_outbox,
    )


@router.post("/{conversation_id}/handback", response_model=ModeOut)
def handback(conversation_id: IdPath, who: Staff, services: Services) -> ModeOut:
    with services.db.tenant_session(who.tenant_id) as session:
        conversation = _conversation(session, who, conversation_id)
        if conversation.mode != "human":
            raise HTTPException(409, "the bot already has this conversation")
    change = hand_back(services.db, who.tenant_id, conversation_id, who.user_id)
    with services.db.tenant_session(who.tenant_id) as session:
        _audit(session, who, "conversation.handback", conversation_id, epoch=change.epoch)
    return ModeOut(
        conversation_id=conversation_id,
        mode=change.mode,
        epoch=change.epoch,
        assigned_agent_id=None,
        cancelled_outbox=change.cancelled_outbox,
    )


def _template_body(session: Session, who: Principal, body: ReplyIn) -> str:
    ref = body.template
    assert ref is not None
    wanted = ref.language.replace("-", "_").lower()
    found = next(
        (
            t
            for t in registry(session, who.tenant_id)
            if t.name == ref.name and t.language.replace("-", "_").lower() == wanted and t.approved
        ),
        None,
    )
    if found is None:
        raise HTTPException(409, f"no approved template {ref.name!r} in {ref.language!r}")
    if len(ref.params) != found.body_params:
        raise HTTPException(422, f"template {found.name!r} takes {found.body_params} parameter(s)")
    return json.dumps({"name": found.name, "language": found.language, "params": ref.params})


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
    key = f"agent:{who.tenant_id}:{who.user_id}:{idempotency_key or uuid.uuid4().hex}"
    db, now = services.db, services.clock()
    with db.tenant_session(who.tenant_id) as session:
        conversation = _conversation(session, who, conversation_id)
        existing = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        if existing is not None:
            return ReplyOut(outbox_id=existing.id, kind=existing.kind, status=existing.status)
        if conversation.mode != "human":
            raise HTTPException(409, "the bot has this conversation: take it over before replying")
        contact = session.get(Contact, conversation.contact_id)
        if contact is None or contact.opted_out:
            raise HTTPException(409, "the customer opted out of messages; they must write START first")
        if body.text is not None:
            if not within_window(conversation.last_customer_message_at, now):
                raise HTTPException(
                    409,
                    "outside the 24-hour customer-service window: free text cannot be sent; "
                    'send an approved template instead ({"template": {"name", "language", "params"}})',
                )
            kind, text = "text", body.text
        else:
            kind, text = "template", _template_body(session, who, body)
        outbox_id = insert_outbox(
            session,
            db.keyring,
            tenant_id=who.tenant_id,
            conversation_id=conversation_id,
            epoch=conversation.epoch,
            author="agent",
            text=text,
            idempotency_key=key,
        )
        item = session.get(OutboxItem, outbox_id)
        assert item is not None
        item.kind = kind
        _audit(session, who, "message.queued", conversation_id, outbox_id=outbox_id, kind=kind)
    services.wake_send(who.tenant_id, outbox_id)
    return ReplyOut(outbox_id=outbox_id, kind=kind, status="pending")


@router.get("/{conversation_id}/notes", response_model=list[NoteOut])
def list_notes(conversation_id: IdPath, who: Staff, services: Services) -> list[NoteOut]:
    keyring = services.db.keyring
    with services.db.tenant_session(who.tenant_id) as session:
        _conversation(session, who, conversation_id)
        rows = session.scalars(
            select(ConversationNote)
            .where(
                ConversationNote.tenant_id == who.tenant_id,
                ConversationNote.conversation_id == conversation_id,
            )
            .order_by(ConversationNote.created_at, ConversationNote.id)
        ).all()
        return [
            NoteOut(
                id=n.id,
                author_id=n.author_id,
                body=unseal(keyring, n, "body_ciphertext") or "",
                created_at=n.created_at,
            )
            for n in rows
        ]


@router.post("/{conversation_id}/notes", response_model=NoteOut, status_code=201)
def add_note(conversation_id: IdPath, body: NoteIn, who: Staff, services: Services) -> NoteOut:
    with services.db.tenant_session(who.tenant_id) as session:
        _conversation(session, who, conversation_id)
        note = ConversationNote(
            tenant_id=who.tenant_id,
            conversation_id=conversation_id,
            author_id=who.user_id,
            created_at=services.clock(),
        )
        seal(services.db.keyring, note, "body_ciphertext", body.body)
        session.add(note)
        session.flush()
        _audit(session, who, "conversation.note", conversation_id, note_id=note.id)
        return NoteOut(id=note.id, author_id=who.user_id, body=body.body, created_at=note.created_at)


@router.post("/{conversation_id}/assign", response_model=ConversationOut)
def assign(conversation_id: IdPath, body: AssignIn, who: Supervisor, services: Services) -> ConversationOut:
    with services.db.tenant_session(who.tenant_id) as session:
        conversation = _conversation(session, who, conversation_id)
        if body.agent_id is not None:
            agent = session.scalar(
                select(User).where(
                    User.id == body.agent_id,
                    User.tenant_id == who.tenant_id,
                    User.role.in_(("agent", "supervisor")),
                    User.disabled.is_(False),
                )
            )
            if agent is None:
                raise NotFound("no such agent")
        conversation.assigned_agent_id = body.agent_id
        conversation.updated_at = services.clock()
        session.flush()
        _audit(session, who, "conversation.assigned", conversation_id, agent_id=body.agent_id)
        return _out(services, session, conversation)
