"""What an agent does to a conversation, shared by the REST API and the console: visibility,
takeover, handback, reply, notes, assignment, and the handoff summary. Each change is
audited and published as a live event once committed.

An agent sees their own and unassigned conversations; supervisors and admins see every
conversation of the tenant. One an agent may not see is "not found", like another tenant's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.window import within_window
from errors import Conflict, NotFound, UserError
from gateway.deps import Principal
from gateway.services import GatewayServices
from gateway.templates import registry
from store import audit
from store.identity import conversation_keyring
from store.models import Contact, Conversation, ConversationNote, Message, OutboxItem, User
from store.sealed import seal, unseal
from workers import handoffs
from workers.events import ConsoleEvent
from workers.outbox import insert_outbox
from workers.takeover import ModeChange, hand_back, take_over

TAKEOVER_WAIT = 30.0
WINDOW_CLOSED = "outside the 24-hour customer-service window: free text cannot be sent"


class WindowClosed(Conflict):
    """Free text outside the customer's 24-hour window (only an approved template may go)."""


class TemplateParams(UserError):
    """A template sent with the wrong number of parameters."""


def visible(who: Principal) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Conversation.tenant_id == who.tenant_id]
    if who.role == "agent":
        conditions.append(
            or_(Conversation.assigned_agent_id == who.user_id, Conversation.assigned_agent_id.is_(None))
        )
    return conditions


def find(session: Session, who: Principal, conversation_id: int) -> Conversation:
    row = session.scalar(select(Conversation).where(Conversation.id == conversation_id, *visible(who)))
    if row is None:
        raise NotFound("no such conversation")
    return row


def _audit(session: Session, who: Principal, action: str, conversation_id: int, **details: object) -> None:
    audit.append(
        session,
        who.tenant_id,
        actor=who.actor,
        action=action,
        subject=f"conversation:{conversation_id}",
        details=dict(details),
    )


def _publish(services: GatewayServices, who: Principal, conversation_id: int, kind: str) -> None:
    services.events.publish(ConsoleEvent(who.tenant_id, conversation_id, kind))


def takeover(services: GatewayServices, who: Principal, conversation_id: int) -> ModeChange:
    """The bot is silenced at once and the conversation is assigned to ``who`` (also a handed-off one)."""
    with services.db.tenant_session(who.tenant_id) as session:
        find(session, who, conversation_id)
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
    _publish(services, who, conversation_id, "takeover")
    return change


def handback(services: GatewayServices, who: Principal, conversation_id: int) -> ModeChange:
    with services.db.tenant_session(who.tenant_id) as session:
        if find(session, who, conversation_id).mode != "human":
            raise Conflict("the bot already has this conversation")
    change = hand_back(services.db, who.tenant_id, conversation_id, who.user_id)
    with services.db.tenant_session(who.tenant_id) as session:
        _audit(session, who, "conversation.handback", conversation_id, epoch=change.epoch)
    _publish(services, who, conversation_id, "handback")
    return change


@dataclass(frozen=True)
class TemplateChoice:
    name: str
    language: str
    params: list[str]


def _template_body(session: Session, who: Principal, ref: TemplateChoice) -> str:
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
        raise Conflict(f"no approved template {ref.name!r} in {ref.language!r}")
    if len(ref.params) != found.body_params:
        raise TemplateParams(f"template {found.name!r} takes {found.body_params} parameter(s)")
    return json.dumps({"name": found.name, "language": found.language, "params": ref.params})


@dataclass(frozen=True)
class Queued:
    outbox_id: int
    kind: str
    status: str


def reply(
    services: GatewayServices,
    who: Principal,
    conversation_id: int,
    *,
    text: str | None = None,
    template: TemplateChoice | None = None,
    idempotency_key: str | None = None,
) -> Queued:
    """Queue an agent's reply: free text inside the 24-hour window, else an approved template."""
    if (text is None) == (template is None):
        raise UserError("send either text or a template")
    key = f"agent:{who.tenant_id}:{who.user_id}:{idempotency_key or uuid.uuid4().hex}"
    db, now = services.db, services.clock()
    with db.tenant_session(who.tenant_id) as session:
        conversation = find(session, who, conversation_id)
        existing = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
        if existing is not None:
            return Queued(existing.id, existing.kind, existing.status)
        if conversation.mode != "human":
            raise Conflict("the bot has this conversation: take it over before replying")
        contact = session.get(Contact, conversation.contact_id)
        if contact is None or contact.opted_out:
            raise Conflict("the customer opted out of messages; they must write START first")
        if text is not None:
            if not within_window(conversation.last_customer_message_at, now):
                raise WindowClosed(
                    WINDOW_CLOSED
                    + '; send an approved template instead ({"template": {"name", "language", "params"}})'
                )
            kind, body = "text", text
        else:
            assert template is not None
            kind, body = "template", _template_body(session, who, template)
        outbox_id = insert_outbox(
            session,
            db.keyring,
            tenant_id=who.tenant_id,
            conversation_id=conversation_id,
            epoch=conversation.epoch,
            author="agent",
            text=body,
            idempotency_key=key,
        )
        item = session.get(OutboxItem, outbox_id)
        assert item is not None
        item.kind = kind
        _audit(session, who, "message.queued", conversation_id, outbox_id=outbox_id, kind=kind)
    services.wake_send(who.tenant_id, outbox_id)
    _publish(services, who, conversation_id, "reply")
    return Queued(outbox_id, kind, "pending")


@dataclass(frozen=True)
class Note:
    id: int
    author_id: int | None
    body: str
    created_at: datetime


def notes(services: GatewayServices, session: Session, who: Principal, conversation_id: int) -> list[Note]:
    rows = session.scalars(
        select(ConversationNote)
        .where(
            ConversationNote.tenant_id == who.tenant_id, ConversationNote.conversation_id == conversation_id
        )
        .order_by(ConversationNote.created_at, ConversationNote.id)
    ).all()
    keyring = services.db.keyring
    return [Note(n.id, n.author_id, unseal(keyring, n, "body_ciphertext") or "", n.created_at) for n in rows]


def add_note(services: GatewayServices, who: Principal, conversation_id: int, body: str) -> Note:
    with services.db.tenant_session(who.tenant_id) as session:
        find(session, who, conversation_id)
        note = ConversationNote(
            tenant_id=who.tenant_id,
            conversation_id=conversation_id,
            author_id=who.user_id,
            created_at=services.clock(),
        )
        seal(
            conversation_keyring(session, services.db.keyring, conversation_id), note, "body_ciphertext", body
        )
        session.add(note)
        session.flush()
        _audit(session, who, "conversation.note", conversation_id, note_id=note.id)
        found = Note(note.id, who.user_id, body, note.created_at)
    _publish(services, who, conversation_id, "note")
    return found


def assign(services: GatewayServices, who: Principal, conversation_id: int, agent_id: int | None) -> None:
    """Give the conversation to ``agent_id`` (None: unassign). Supervisors and admins only."""
    if who.role == "agent":
        raise NotFound("no such conversation")
    with services.db.tenant_session(who.tenant_id) as session:
        conversation = find(session, who, conversation_id)
        if agent_id is not None and agent_id not in {a.id for a in assignable(session, who)}:
            raise NotFound("no such agent")
        conversation.assigned_agent_id = agent_id
        conversation.updated_at = services.clock()
        session.flush()
        _audit(session, who, "conversation.assigned", conversation_id, agent_id=agent_id)
    _publish(services, who, conversation_id, "assigned")


def assignable(session: Session, who: Principal) -> list[User]:
    """The tenant's active agents and supervisors, by name."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.tenant_id == who.tenant_id,
                User.role.in_(("agent", "supervisor")),
                User.disabled.is_(False),
            )
            .order_by(User.name, User.id)
        ).all()
    )


def latest_handoff(
    services: GatewayServices, session: Session, conversation_id: int
) -> handoffs.Handoff | None:
    """The conversation's most recent handoff summary, decrypted (None if the bot never handed over)."""
    return handoffs.latest(session, services.db.keyring, conversation_id)


def unanswered(session: Session, conversation_id: int) -> int:
    """Customer messages since the last message to the customer (bot or agent)."""
    last_out = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation_id, Message.direction == "out"
        )
    )
    query = select(func.count(Message.id)).where(
        Message.conversation_id == conversation_id, Message.direction == "in"
    )
    if last_out is not None:
        query = query.where(Message.created_at > last_out)
    return int(session.scalar(query) or 0)


LatestChange = Callable[[], Awaitable[tuple[int, float] | None]]


def latest_change(services: GatewayServices, tenant_id: int) -> LatestChange:
    """Reads the tenant's most recently changed conversation and when (the embedded poll)."""

    def read() -> tuple[int, float] | None:
        with services.db.tenant_session(tenant_id) as session:
            row = session.execute(
                select(Conversation.id, Conversation.updated_at)
                .where(Conversation.tenant_id == tenant_id)
                .order_by(Conversation.updated_at.desc())
                .limit(1)
            ).first()
        return (int(row[0]), row[1].timestamp()) if row is not None else None

    async def latest() -> tuple[int, float] | None:
        return await run_in_threadpool(read)

    return latest
