"""What the console's pages show, read through the tenant's own session (bodies decrypted
through ``store.sealed`` only for the tenant's agents)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.window import window_closes_at, within_window
from gateway import actions
from gateway.deps import Principal
from gateway.services import GatewayServices
from gateway.templates import registry
from store.models import Contact, Conversation, Message, OutboxItem, User
from store.sealed import unseal
from workers import handoffs

INBOX_LIMIT = 200
PREVIEW_CHARS = 80
GROUPS = ("needs_human", "mine", "unassigned", "others")
VIEWS = ("all", *GROUPS[:3])


def display_name(services: GatewayServices, contact: Contact | None) -> str:
    if contact is None:
        return "?"
    name = unseal(services.db.keyring, contact, "profile_name_ciphertext")
    if name:
        return name
    if contact.wa_id:
        return f"+{contact.wa_id}"
    return f"#{contact.id}"


def preview(text: str | None, kind: str) -> str:
    if kind == "template" and text:
        return "▤ " + template_name(text)
    words = " ".join((text or f"[{kind}]").split())
    return words if len(words) <= PREVIEW_CHARS else words[: PREVIEW_CHARS - 1].rsplit(" ", 1)[0] + "…"


def template_name(text: str) -> str:
    try:
        return str(json.loads(text).get("name", "?"))
    except (ValueError, AttributeError):
        return "?"


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    group: str
    mode: str
    assignee: str | None
    mine: bool
    waiting_since: datetime | None
    preview: str
    unread: int
    updated_at: datetime


def _group(who: Principal, c: Conversation) -> str:
    if c.assigned_agent_id == who.user_id:
        return "mine"
    if c.assigned_agent_id is None:
        return "needs_human" if c.mode == "human" else "unassigned"
    return "others"


def _names(session: Session, tenant_id: int) -> dict[int, str]:
    rows = session.execute(select(User.id, User.name).where(User.tenant_id == tenant_id)).all()
    return {int(r[0]): str(r[1]) for r in rows}


def inbox(services: GatewayServices, who: Principal, view: str) -> dict[str, list[Row]]:
    """The visible conversations in their groups (needs a human, mine, unassigned, others)."""
    keyring = services.db.keyring
    groups: dict[str, list[Row]] = {g: [] for g in GROUPS}
    with services.db.tenant_session(who.tenant_id) as session:
        names = _names(session, who.tenant_id)
        rows = session.scalars(
            select(Conversation)
            .where(*actions.visible(who), Conversation.test.is_(False))
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(INBOX_LIMIT)
        ).all()
        for c in rows:
            group = _group(who, c)
            if view != "all" and group != view:
                continue
            last = session.scalar(
                select(Message)
                .where(Message.conversation_id == c.id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(1)
            )
            waiting = c.last_customer_message_at if last is not None and last.direction == "in" else None
            groups[group].append(
                Row(
                    id=c.id,
                    name=display_name(services, session.get(Contact, c.contact_id)),
                    group=group,
                    mode=c.mode,
                    assignee=names.get(c.assigned_agent_id) if c.assigned_agent_id else None,
                    mine=c.assigned_agent_id == who.user_id,
                    waiting_since=waiting,
                    preview=preview(unseal(keyring, last, "body_ciphertext"), last.kind) if last else "",
                    unread=actions.unanswered(session, c.id),
                    updated_at=c.updated_at,
                )
            )
    for group in ("needs_human", "unassigned"):  # the longest wait first
        groups[group].sort(key=lambda r: r.waiting_since or r.updated_at)
    return groups


@dataclass(frozen=True)
class Line:
    author: str
    direction: str
    text: str
    status: str
    at: datetime
    template: bool = False


@dataclass(frozen=True)
class TemplateOption:
    name: str
    language: str
    params: int


@dataclass
class Detail:
    id: int
    name: str
    wa_id: str | None
    mode: str
    assignee: str | None
    assigned_to_me: bool
    assigned_agent_id: int | None
    window_open: bool
    window_closes_at: datetime | None
    opted_out: bool
    handoff: handoffs.Handoff | None
    lines: list[Line]
    notes: list[tuple[str, str, datetime]]
    templates: list[TemplateOption] = field(default_factory=list[TemplateOption])
    agents: list[tuple[int, str]] = field(default_factory=list[tuple[int, str]])

    @property
    def composer(self) -> str:
        """What the reply box offers: ``text``, ``template``, ``bot``, ``other`` or ``opted_out``."""
        if self.mode != "human":
            return "bot"
        if self.opted_out:
            return "opted_out"
        return "text" if self.window_open else "template"


def _lines(services: GatewayServices, session: Session, conversation_id: int) -> list[Line]:
    keyring = services.db.keyring
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at, Message.id)
    ).all()
    lines = [
        Line(
            m.author,
            m.direction,
            _text(unseal(keyring, m, "body_ciphertext"), m.kind),
            m.status,
            m.created_at,
            m.kind == "template",
        )
        for m in messages
    ]
    waiting = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.conversation_id == conversation_id, OutboxItem.status != "sent")
        .order_by(OutboxItem.created_at, OutboxItem.id)
    ).all()
    for item in waiting:
        text = _text(unseal(keyring, item, "body_ciphertext"), item.kind)
        lines.append(Line(item.author, "out", text, item.status, item.created_at, item.kind == "template"))
    lines.sort(key=lambda line: line.at)
    return lines


def _text(body: str | None, kind: str) -> str:
    if kind == "template" and body:
        return template_name(body)
    return body if body is not None else f"[{kind}]"


def conversation(services: GatewayServices, who: Principal, conversation_id: int) -> Detail:
    now = services.clock()
    with services.db.tenant_session(who.tenant_id) as session:
        c = actions.find(session, who, conversation_id)
        contact = session.get(Contact, c.contact_id)
        names = _names(session, who.tenant_id)
        detail = Detail(
            id=c.id,
            name=display_name(services, contact),
            wa_id=contact.wa_id if contact else None,
            mode=c.mode,
            assignee=names.get(c.assigned_agent_id) if c.assigned_agent_id else None,
            assigned_to_me=c.assigned_agent_id == who.user_id,
            assigned_agent_id=c.assigned_agent_id,
            window_open=within_window(c.last_customer_message_at, now),
            window_closes_at=window_closes_at(c.last_customer_message_at),
            opted_out=bool(contact and contact.opted_out),
            handoff=actions.latest_handoff(services, session, c.id),
            lines=_lines(services, session, c.id),
            notes=[
                (names.get(n.author_id, "?") if n.author_id else "?", n.body, n.created_at)
                for n in actions.notes(services, session, who, c.id)
            ],
        )
        if detail.composer == "template":
            detail.templates = [
                TemplateOption(t.name, t.language, t.body_params)
                for t in registry(session, who.tenant_id)
                if t.approved
            ]
        if who.role != "agent":
            detail.agents = [(u.id, u.name) for u in actions.assignable(session, who)]
    return detail
