"""Apply one verified webhook event to a tenant's store: messages, statuses, echoes, consent.

Each event runs in its own tenant transaction (:func:`apply_event`); what must happen after
the commit (wake a mailbox, wake the sender, a takeover) is returned as :class:`Effects`.
Nothing is dropped silently: what does not become a message is kept in ``webhook_events``
(metadata in clear, the item as Meta sent it sealed).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from agent.tenant import LANGS, Lang, TenantProfile
from channels.contacts import UnknownContact, change_number, created_here, resolve_contact
from channels.events import (
    Echo,
    Event,
    InboundMessage,
    MessageDelete,
    MessageEdit,
    PreferenceUpdate,
    StatusUpdate,
    SystemEvent,
    TemplateUpdate,
)
from channels.optout import (
    apply_consent,
    consent_confirmation,
    detect_consent_command,
    may_be_consent_command,
    unsupported_reply,
)
from channels.status import apply_status
from gateway.templates import sync_settings_registry
from store import audit
from store.crypto import Keyring
from store.models import (
    Channel,
    Contact,
    Conversation,
    Message,
    MessageTemplate,
    OutboxItem,
    Tenant,
    WebhookEvent,
)
from store.rows import insert_now
from store.sealed import seal
from workers.mailbox import append_inbound_in
from workers.outbox import insert_outbox

log = logging.getLogger("frontdesk.gateway.webhook")

ACTOR = "whatsapp"
CONSUMED = {"consent": "gateway:consent", "opted_out": "gateway:opted-out", "no_reply": "gateway:no-reply"}
"""``messages.turn_id`` markers for inbound messages the bot must not answer (not pending)."""


@dataclass
class Effects:
    """What to do once the event's transaction has committed."""

    drains: list[int] = field(default_factory=list[int])
    sends: list[int] = field(default_factory=list[int])
    takeover: int | None = None
    status_of: int | None = None
    """A conversation whose message's delivery status changed (the consoles show it)."""
    outcome: str = "recorded"


_SETTINGS_OF = select(Tenant.settings).where(Tenant.id == bindparam("tid"))
_DEFAULT_LANGUAGE: Lang = TenantProfile.model_fields["default_language"].default


def _default_language(session: Session, tenant_id: int) -> Lang:
    """The tenant's default language (what :class:`TenantProfile` would say, without parsing it all)."""
    settings = session.scalar(_SETTINGS_OF, {"tid": tenant_id}) or {}
    language = settings.get("default_language")
    return language if language in LANGS else _DEFAULT_LANGUAGE


def record(
    session: Session,
    keyring: Keyring,
    tenant_id: int,
    channel: Channel | None,
    event: Event,
    kind: str,
    reason: str | None,
    at: datetime,
    **details: Any,
) -> WebhookEvent:
    """Keep an event for the record: metadata in ``details``, the raw item sealed."""
    row = WebhookEvent(
        tenant_id=tenant_id,
        channel_id=channel.id if channel else None,
        field=(event.field or "")[:64],
        kind=kind[:32],
        reason=None if reason is None else reason[:200],
        wa_message_id=getattr(event, "wa_message_id", None),
        details={k: v for k, v in details.items() if v is not None},
        received_at=at,
    )
    raw: Any = getattr(event, "raw", None)
    if raw:
        seal(keyring, row, "payload_ciphertext", json.dumps(raw, sort_keys=True, default=str))
    session.add(row)
    session.flush()
    return row


_CONVERSATION_OF = (  # built once: building it per webhook cost more CPU than running it
    select(Conversation)
    .where(
        Conversation.tenant_id == bindparam("tid"),
        Conversation.contact_id == bindparam("cid"),
        Conversation.channel_id == bindparam("chid"),
    )
    .order_by(Conversation.created_at, Conversation.id)
    .limit(1)
)


def conversation_for(session: Session, tenant_id: int, contact: Contact, channel: Channel) -> Conversation:
    """The contact's conversation on this number (the oldest one), created if new."""
    found = None
    if not created_here(session, contact):  # a contact created a moment ago has none
        found = session.scalar(_CONVERSATION_OF, {"tid": tenant_id, "cid": contact.id, "chid": channel.id})
    if found is not None:
        return found
    conversation = Conversation(tenant_id=tenant_id, contact_id=contact.id, channel_id=channel.id)
    insert_now(session, conversation)
    return conversation


def _queue(
    session: Session,
    keyring: Keyring,
    conversation: Conversation,
    *,
    author: str,
    text: str,
    key: str,
    effects: Effects,
) -> None:
    existing = session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key))
    if existing is not None:
        return
    outbox_id = insert_outbox(
        session,
        keyring,
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        epoch=conversation.epoch,
        author=author,
        text=text,
        idempotency_key=key,
    )
    effects.sends.append(outbox_id)


def _bump_epoch(session: Session, conversation: Conversation, now: datetime) -> None:
    """Fence off any bot run in flight (its reply can no longer enter the outbox)."""
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(epoch=Conversation.epoch + 1, updated_at=now)
    )
    session.refresh(conversation)


def _cancel_bot_items(session: Session, contact: Contact) -> int:
    conversation_ids = select(Conversation.id).where(Conversation.contact_id == contact.id)
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.conversation_id.in_(conversation_ids),
            OutboxItem.status == "pending",
            OutboxItem.author.in_(("bot", "system")),
        )
        .values(status="cancelled", last_error="opted_out")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _inbound(
    session: Session, keyring: Keyring, channel: Channel, event: InboundMessage, now: datetime
) -> Effects:
    tenant_id = channel.tenant_id
    effects = Effects(outcome="message")
    contact = resolve_contact(session, keyring, tenant_id, event.sender)
    conversation = conversation_for(session, tenant_id, contact, channel)
    appended = append_inbound_in(
        session,
        keyring,
        tenant_id,
        conversation.id,
        wa_message_id=event.wa_message_id,
        text=event.text,
        kind=(event.type or "unknown")[:32],
        received_at=now,
    )
    if appended.duplicate:
        effects.outcome = "duplicate"
        return effects
    values: dict[str, Any] = {}
    if event.media is not None:
        values.update(media_id=event.media.id, media_mime_type=event.media.mime_type)
    command, lang = None, None  # the tenant's language is read only for a possible command
    if event.type in ("text", "button") and may_be_consent_command(event.text):
        lang = _default_language(session, tenant_id)
        command = detect_consent_command(event.text, lang)
    details: dict[str, Any] = {"kind": event.type, "message_id": appended.message_id}
    if command == "opt_out" or (command == "opt_in" and contact.opted_out):
        apply_consent(session, contact, command, now, source="keyword")
        values["turn_id"] = CONSUMED["consent"]
        _bump_epoch(session, conversation, now)
        if command == "opt_out":
            details["cancelled_outbox"] = _cancel_bot_items(session, contact)
        _queue(
            session,
            keyring,
            conversation,
            author="system",
            text=consent_confirmation(command, lang),  # a command was detected: lang is read
            key=f"consent:{tenant_id}:{event.wa_message_id}",
            effects=effects,
        )
        audit.append(
            session,
            tenant_id,
            actor=ACTOR,
            action=f"consent.{command}",
            subject=f"contact:{contact.id}",
            details={"at": now.isoformat(), "source": "keyword", "conversation_id": conversation.id},
        )
        effects.outcome = command
    elif command == "opt_in":
        apply_consent(session, contact, command, now, source="keyword")  # records consent; bot answers
        effects.drains.append(conversation.id)
    elif contact.opted_out:
        values["turn_id"] = CONSUMED["opted_out"]
        details["opted_out"] = True
    elif event.needs_polite_reply:
        values["turn_id"] = CONSUMED["no_reply"]
        if conversation.mode == "bot":
            _queue(
                session,
                keyring,
                conversation,
                author="bot",
                text=unsupported_reply(_default_language(session, tenant_id)),
                key=f"unsupported:{tenant_id}:{event.wa_message_id}",
                effects=effects,
            )
        effects.outcome = "unsupported"
    elif not event.expects_reply:
        values["turn_id"] = CONSUMED["no_reply"]
    else:
        effects.drains.append(conversation.id)
    if values:
        session.execute(update(Message).where(Message.id == appended.message_id).values(**values))
    audit.append(
        session,
        tenant_id,
        actor=ACTOR,
        action="message.received",
        subject=f"conversation:{conversation.id}",
        details=details,
        at=now,
    )
    return effects


def _status(
    session: Session, keyring: Keyring, channel: Channel, event: StatusUpdate, now: datetime
) -> Effects:
    message = session.scalar(
        select(Message).where(
            Message.tenant_id == channel.tenant_id, Message.wa_message_id == event.wa_message_id
        )
    )
    if message is None or message.direction != "out":
        record(
            session,
            keyring,
            channel.tenant_id,
            channel,
            event,
            "status",
            "status for a message not (yet) in the store",
            now,
            status=event.status,
            error_code=event.error_code,
        )
        return Effects(outcome="status_unmatched")
    changed = apply_status(message, event)
    return Effects(
        outcome="status" if changed else "status_stale",
        status_of=message.conversation_id if changed else None,
    )


def echo_seen(session: Session, tenant_id: int, wa_message_id: str) -> bool:
    found = session.scalar(
        select(Message.id).where(Message.tenant_id == tenant_id, Message.wa_message_id == wa_message_id)
    )
    return found is not None


def prepare_echo(session: Session, keyring: Keyring, channel: Channel, event: Echo) -> tuple[int, str] | None:
    """The echo's conversation and its mode, or None when the echo was stored already."""
    if echo_seen(session, channel.tenant_id, event.wa_message_id):
        return None
    contact = resolve_contact(session, keyring, channel.tenant_id, event.customer)
    conversation = conversation_for(session, channel.tenant_id, contact, channel)
    return conversation.id, conversation.mode


def store_echo(
    session: Session, keyring: Keyring, channel: Channel, event: Echo, conversation_id: int, now: datetime
) -> Effects:
    """Keep the owner's reply as an agent message of the conversation."""
    if echo_seen(session, channel.tenant_id, event.wa_message_id):
        return Effects(outcome="duplicate")
    message = Message(
        tenant_id=channel.tenant_id,
        conversation_id=conversation_id,
        direction="out",
        author="agent",
        kind=(event.type or "unknown")[:32],
        wa_message_id=event.wa_message_id,
        status="sent",
        status_at=now,
        created_at=now,
        media_id=event.media.id if event.media else None,
        media_mime_type=event.media.mime_type if event.media else None,
    )
    seal(keyring, message, "body_ciphertext", event.text)
    session.add(message)
    session.flush()
    audit.append(
        session,
        channel.tenant_id,
        actor=ACTOR,
        action="message.echo",
        subject=f"conversation:{conversation_id}",
        details={"kind": event.type, "message_id": message.id},
        at=now,
    )
    return Effects(outcome="echo")


def _template(
    session: Session, keyring: Keyring, channel: Channel, event: TemplateUpdate, now: datetime
) -> Effects:
    rows = session.scalars(
        select(MessageTemplate).where(
            MessageTemplate.tenant_id == channel.tenant_id, MessageTemplate.name == (event.name or "")
        )
    ).all()
    norm = (event.language or "").replace("-", "_").lower()
    changed = 0
    for row in rows:
        if norm and row.language.replace("-", "_").lower() != norm:
            continue
        if event.update == "status" and event.status:
            row.status = event.status.upper()[:32]
        elif event.update == "category" and event.category:
            row.category = event.category.upper()[:32]
        else:
            continue
        if event.template_id:
            row.meta_template_id = event.template_id[:64]
        row.updated_at = now
        changed += 1
    if changed:
        session.flush()
        sync_settings_registry(session, channel.tenant_id)
    record(
        session,
        keyring,
        channel.tenant_id,
        channel,
        event,
        "template",
        f"template {event.update} update",
        now,
        template=event.name,
        language=event.language,
        status=event.status,
        category=event.category,
        quality=event.quality,
        applied=changed,
    )
    return Effects(outcome="template")


def _system(
    session: Session, keyring: Keyring, channel: Channel, event: SystemEvent, now: datetime
) -> Effects:
    moved = None
    if event.system_type in ("user_changed_number", "customer_changed_number"):
        moved = change_number(session, channel.tenant_id, event.contact.wa_id, event.new_wa_id)
    record(
        session,
        keyring,
        channel.tenant_id,
        channel,
        event,
        "system",
        event.system_type,
        now,
        contact_id=moved.id if moved else None,
    )
    return Effects(outcome="system")


def _preference(
    session: Session, keyring: Keyring, channel: Channel, event: PreferenceUpdate, now: datetime
) -> Effects:
    record(
        session,
        keyring,
        channel.tenant_id,
        channel,
        event,
        "preference",
        "marketing preference changed in WhatsApp",
        now,
        category=event.category,
        value=event.value,
    )
    audit.append(
        session,
        channel.tenant_id,
        actor=ACTOR,
        action="consent.preference",
        details={"category": event.category, "value": event.value, "at": now.isoformat()},
        at=now,
    )
    return Effects(outcome="preference")


def apply_event(session: Session, keyring: Keyring, channel: Channel, event: Event, now: datetime) -> Effects:
    """Apply one event (not an echo: see :func:`prepare_echo`) in the caller's transaction."""
    try:
        if isinstance(event, InboundMessage):
            return _inbound(session, keyring, channel, event, now)
        if isinstance(event, StatusUpdate):
            return _status(session, keyring, channel, event, now)
        if isinstance(event, TemplateUpdate):
            return _template(session, keyring, channel, event, now)
        if isinstance(event, SystemEvent):
            return _system(session, keyring, channel, event, now)
        if isinstance(event, PreferenceUpdate):
            return _preference(session, keyring, channel, event, now)
    except UnknownContact:
        record(session, keyring, channel.tenant_id, channel, event, "unroutable", "no customer id", now)
        return Effects(outcome="unroutable")
    if isinstance(event, MessageEdit | MessageDelete):
        if echo_seen_event(session, channel.tenant_id, event.kind, event.wa_message_id):
            return Effects(outcome="duplicate")
        record(
            session,
            keyring,
            channel.tenant_id,
            channel,
            event,
            event.kind,
            f"customer {event.kind}ed a message",
            now,
            original_message_id=event.original_message_id,
        )
        return Effects(outcome=event.kind)
    reason = getattr(event, "reason", None)
    record(
        session,
        keyring,
        channel.tenant_id,
        channel,
        event,
        event.kind,
        reason,
        now,
        event_name=getattr(event, "event", None),
    )
    return Effects(outcome=event.kind)


def echo_seen_event(session: Session, tenant_id: int, kind: str, wa_message_id: str) -> bool:
    """Whether an edit or deletion with this id was recorded already (Meta delivers twice)."""
    found = session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.tenant_id == tenant_id,
            WebhookEvent.kind == kind,
            WebhookEvent.wa_message_id == wa_message_id,
        )
    )
    return found is not None
