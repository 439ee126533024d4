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

from agent.tenant import TenantProfile
from channels.contacts import UnknownContact, change_number, created_here, find_contact, resolve_contact
from channels.events import (
    ContactRef,
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
    ConsentCommand,
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
from store.identity import conversation_keyring, number_digest, remember_contact_of
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
from textnorm import LANGUAGES, Language
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
_DEFAULT_LANGUAGE: Language = TenantProfile.model_fields["default_language"].default


def _default_language(session: Session, tenant_id: int) -> Language:
    """The tenant's default language (what :class:`TenantProfile` would say, without parsing it all)."""
    settings = session.scalar(_SETTINGS_OF, {"tid": tenant_id}) or {}
    language = settings.get("default_language")
    return language if language in LANGUAGES else _DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Arrival:
    """Where an event is applied: the tenant transaction, the keys, the number it came to, when."""

    session: Session
    keyring: Keyring
    channel: Channel
    now: datetime

    @property
    def tenant_id(self) -> int:
        return self.channel.tenant_id


def record(at: Arrival, event: Event, kind: str, reason: str | None, **details: Any) -> WebhookEvent:
    """Keep an event for the record: metadata in ``details``, the raw item sealed.

    An event about a customer is linked to its contact (sealed under the contact's data key)
    and carries the blind index of the number, so an erasure finds it."""
    session, keyring, tenant_id = at.session, at.keyring, at.tenant_id
    subject, contact = _subject_of(event), None
    if subject is not None and subject.known:
        contact = find_contact(session, keyring, tenant_id, subject)
    row = WebhookEvent(
        contact_id=contact.id if contact else None,
        subject_digest=number_digest(keyring, subject.wa_id) if subject and subject.wa_id else None,
        tenant_id=tenant_id,
        channel_id=at.channel.id,
        field=(event.field or "")[:64],
        kind=kind[:32],
        reason=None if reason is None else reason[:200],
        wa_message_id=getattr(event, "wa_message_id", None),
        details={k: v for k, v in details.items() if v is not None},
        received_at=at.now,
    )
    raw: Any = getattr(event, "raw", None)
    if raw:
        sealing = keyring.for_contact(tenant_id, contact.id) if contact else keyring
        seal(sealing, row, "payload_ciphertext", json.dumps(raw, sort_keys=True, default=str))
    session.add(row)
    session.flush()
    return row


def _subject_of(event: Event) -> ContactRef | None:
    """The customer an event is about, if any."""
    for name in ("sender", "recipient", "customer", "contact"):
        ref = getattr(event, name, None)
        if isinstance(ref, ContactRef):
            return ref
    return None


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
    if found is None:
        found = Conversation(tenant_id=tenant_id, contact_id=contact.id, channel_id=channel.id)
        insert_now(session, found)
    remember_contact_of(found.id, tenant_id, contact.id)  # the mailbox seals under its key
    return found


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


@dataclass
class _Arrived:
    """An inbound message just stored, on its way: its row's extra columns and its audit line."""

    at: Arrival
    event: InboundMessage
    contact: Contact
    conversation: Conversation
    message_id: int
    effects: Effects
    values: dict[str, Any] = field(default_factory=dict[str, Any])
    """Columns of the message's row to set (media, or a ``turn_id`` marker: not pending)."""
    details: dict[str, Any] = field(default_factory=dict[str, Any])
    """What ``message.received`` says in the audit log."""

    def consume(self, why: str) -> None:
        """Keep the message out of the bot's mailbox (see :data:`CONSUMED`)."""
        self.values["turn_id"] = CONSUMED[why]

    def queue(self, *, author: str, text: str, key: str) -> None:
        """Send ``text`` to the customer once (``key`` is the outbox idempotency key)."""
        session = self.at.session
        if session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)) is not None:
            return
        outbox_id = insert_outbox(
            session,
            self.at.keyring,
            tenant_id=self.conversation.tenant_id,
            conversation_id=self.conversation.id,
            epoch=self.conversation.epoch,
            author=author,
            text=text,
            idempotency_key=key,
        )
        self.effects.sends.append(outbox_id)


def _inbound(at: Arrival, event: InboundMessage) -> Effects:
    arrived = _store_inbound(at, event)
    if arrived is None:
        return Effects(outcome="duplicate")
    command, lang = _consent_command(at, event)
    if command == "opt_out" or (command == "opt_in" and arrived.contact.opted_out):
        _change_consent(arrived, command, lang)
    elif command == "opt_in":  # records consent; the bot answers
        _opt_in_again(arrived, lang)
    elif arrived.contact.opted_out:
        arrived.consume("opted_out")
        arrived.details["opted_out"] = True
    elif event.needs_polite_reply:
        _answer_unsupported(arrived)
    elif not event.expects_reply:
        arrived.consume("no_reply")
    else:
        arrived.effects.drains.append(arrived.conversation.id)
    _close(arrived)
    return arrived.effects


def _store_inbound(at: Arrival, event: InboundMessage) -> _Arrived | None:
    """Append the message to its conversation's mailbox; ``None`` when WhatsApp sent it before."""
    contact = resolve_contact(at.session, at.keyring, at.tenant_id, event.sender)
    conversation = conversation_for(at.session, at.tenant_id, contact, at.channel)
    appended = append_inbound_in(
        at.session,
        at.keyring,
        at.tenant_id,
        conversation.id,
        wa_message_id=event.wa_message_id,
        text=event.text,
        kind=(event.type or "unknown")[:32],
        received_at=at.now,
    )
    if appended.duplicate:
        return None
    arrived = _Arrived(at, event, contact, conversation, appended.message_id, Effects(outcome="message"))
    if event.media is not None:
        arrived.values.update(media_id=event.media.id, media_mime_type=event.media.mime_type)
    arrived.details.update(kind=event.type, message_id=appended.message_id)
    return arrived


def _consent_command(at: Arrival, event: InboundMessage) -> tuple[ConsentCommand | None, Language | None]:
    """The consent command the message is, if any, and the tenant's language (read only then)."""
    if event.type not in ("text", "button") or not may_be_consent_command(event.text):
        return None, None
    lang = _default_language(at.session, at.tenant_id)
    return detect_consent_command(event.text, lang), lang


def _change_consent(arrived: _Arrived, command: ConsentCommand, lang: Language | None) -> None:
    """An opt-out, or an opt-in after one: fence the bot off, confirm once, audit."""
    at, contact, conversation = arrived.at, arrived.contact, arrived.conversation
    confirmation = consent_confirmation(command, lang)
    apply_consent(
        at.session,
        contact,
        command,
        at.now,
        source="keyword",
        wording=confirmation,
        language=lang,
        conversation_id=conversation.id,
    )
    arrived.consume("consent")
    _bump_epoch(at.session, conversation, at.now)
    if command == "opt_out":
        arrived.details["cancelled_outbox"] = _cancel_bot_items(at.session, contact)
    arrived.queue(
        author="system", text=confirmation, key=f"consent:{at.tenant_id}:{arrived.event.wa_message_id}"
    )
    audit.append(
        at.session,
        at.tenant_id,
        actor=ACTOR,
        action=f"consent.{command}",
        subject=f"contact:{contact.id}",
        details={"at": at.now.isoformat(), "source": "keyword", "conversation_id": conversation.id},
    )
    arrived.effects.outcome = command


def _opt_in_again(arrived: _Arrived, lang: Language | None) -> None:
    """An opt-in from a customer who never opted out: recorded, and the bot answers as usual."""
    at = arrived.at
    apply_consent(
        at.session,
        arrived.contact,
        "opt_in",
        at.now,
        source="keyword",
        language=lang,
        conversation_id=arrived.conversation.id,
    )
    arrived.effects.drains.append(arrived.conversation.id)


def _answer_unsupported(arrived: _Arrived) -> None:
    """A message type the bot cannot read: a polite answer while the bot has the conversation."""
    arrived.consume("no_reply")
    if arrived.conversation.mode == "bot":
        at = arrived.at
        arrived.queue(
            author="bot",
            text=unsupported_reply(_default_language(at.session, at.tenant_id)),
            key=f"unsupported:{at.tenant_id}:{arrived.event.wa_message_id}",
        )
    arrived.effects.outcome = "unsupported"


def _close(arrived: _Arrived) -> None:
    """Write the message's extra columns and its ``message.received`` audit line."""
    at = arrived.at
    if arrived.values:
        at.session.execute(update(Message).where(Message.id == arrived.message_id).values(**arrived.values))
    audit.append(
        at.session,
        at.tenant_id,
        actor=ACTOR,
        action="message.received",
        subject=f"conversation:{arrived.conversation.id}",
        details=arrived.details,
        at=at.now,
    )


def _status(at: Arrival, event: StatusUpdate) -> Effects:
    message = at.session.scalar(
        select(Message).where(Message.tenant_id == at.tenant_id, Message.wa_message_id == event.wa_message_id)
    )
    if message is None or message.direction != "out":
        record(
            at,
            event,
            "status",
            "status for a message not (yet) in the store",
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
    seal(conversation_keyring(session, keyring, conversation_id), message, "body_ciphertext", event.text)
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


def _template(at: Arrival, event: TemplateUpdate) -> Effects:
    rows = at.session.scalars(
        select(MessageTemplate).where(
            MessageTemplate.tenant_id == at.tenant_id, MessageTemplate.name == (event.name or "")
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
        row.updated_at = at.now
        changed += 1
    if changed:
        at.session.flush()
        sync_settings_registry(at.session, at.tenant_id)
    record(
        at,
        event,
        "template",
        f"template {event.update} update",
        template=event.name,
        language=event.language,
        status=event.status,
        category=event.category,
        quality=event.quality,
        applied=changed,
    )
    return Effects(outcome="template")


def _system(at: Arrival, event: SystemEvent) -> Effects:
    moved = None
    if event.system_type in ("user_changed_number", "customer_changed_number"):
        moved = change_number(at.session, at.keyring, at.tenant_id, event.contact.wa_id, event.new_wa_id)
    record(at, event, "system", event.system_type, contact_id=moved.id if moved else None)
    return Effects(outcome="system")


def _preference(at: Arrival, event: PreferenceUpdate) -> Effects:
    record(
        at,
        event,
        "preference",
        "marketing preference changed in WhatsApp",
        category=event.category,
        value=event.value,
    )
    audit.append(
        at.session,
        at.tenant_id,
        actor=ACTOR,
        action="consent.preference",
        details={"category": event.category, "value": event.value, "at": at.now.isoformat()},
        at=at.now,
    )
    return Effects(outcome="preference")


def apply_event(session: Session, keyring: Keyring, channel: Channel, event: Event, now: datetime) -> Effects:
    """Apply one event (not an echo: see :func:`prepare_echo`) in the caller's transaction."""
    at = Arrival(session, keyring, channel, now)
    try:
        if isinstance(event, InboundMessage):
            return _inbound(at, event)
        if isinstance(event, StatusUpdate):
            return _status(at, event)
        if isinstance(event, TemplateUpdate):
            return _template(at, event)
        if isinstance(event, SystemEvent):
            return _system(at, event)
        if isinstance(event, PreferenceUpdate):
            return _preference(at, event)
    except UnknownContact:
        record(at, event, "unroutable", "no customer id")
        return Effects(outcome="unroutable")
    if isinstance(event, MessageEdit | MessageDelete):
        if echo_seen_event(session, channel.tenant_id, event.kind, event.wa_message_id):
            return Effects(outcome="duplicate")
        record(
            at,
            event,
            event.kind,
            f"customer {event.kind}ed a message",
            original_message_id=event.original_message_id,
        )
        return Effects(outcome=event.kind)
    record(at, event, event.kind, getattr(event, "reason", None), event_name=getattr(event, "event", None))
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
