"""What the store holds about one customer: the rules to export it and to erase it.

Every table of the metadata is either listed in :data:`CUSTOMER_TABLES` (how its rows belong to
a contact) or in :data:`NO_CUSTOMER_DATA` (why it holds none); a test fails when a table is in
neither. The audit log is kept on erasure: its entries name customers only by row ids, and the
chain must stay verifiable; the erasure adds an entry of its own, with counts only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from errors import UserError
from store.crypto import DecryptionError
from store.db import Database
from store.identity import bsuid_of, number_digests, number_of
from store.keystore import contact_of_token
from store.models import (
    AuditEntry,
    ConsentEvent,
    Contact,
    Conversation,
    ConversationNote,
    Message,
    OutboxItem,
    TurnRow,
    VaultEntry,
    WebhookEvent,
    WorkerLease,
)
from store.sealed import unseal

Link = Literal["contact", "conversation", "subject", "lease"]

CUSTOMER_TABLES: dict[str, Link] = {
    "contacts": "contact",
    "consent_events": "contact",
    "webhook_events": "subject",
    "conversations": "contact",
    "messages": "conversation",
    "outbox": "conversation",
    "turns": "conversation",
    "conversation_notes": "conversation",
    "vault_entries": "conversation",
    "worker_leases": "lease",
}
"""Tables holding a customer's rows, and how a row names its customer. Export and erasure
cover each of them."""

NO_CUSTOMER_DATA: dict[str, str] = {
    "tenants": "the businesses",
    "users": "the business's staff and their tokens",
    "channels": "the business's own WhatsApp numbers and secrets",
    "provider_settings": "the business's model provider and key",
    "message_templates": "the business's WhatsApp templates",
    "eval_results": "scores of scripted eval scenarios (no customer)",
    "kb_documents": "the business's knowledge base",
    "kb_chunks": "the business's knowledge base",
    "tenant_tracing": "the business's Langfuse project",
    "trace_erasures": "queued trace deletions: Langfuse session ids and user hashes only",
    "audit_log": "kept on erasure: ids and counts only (exported: the entries about the customer)",
}
"""Tables that hold no customer's personal data, and why."""


def find_by_number(session: Session, db: Database, tenant_id: int, wa_id: str) -> Contact | None:
    """The tenant's contact with this WhatsApp number (through the blind index)."""
    return session.scalar(
        select(Contact).where(
            Contact.tenant_id == tenant_id, Contact.wa_id_digest.in_(number_digests(db.keyring, wa_id))
        )
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _open(db: Database, row: Any, column: str) -> str | None:
    try:
        return unseal(db.keyring, row, column)
    except DecryptionError:
        return None


def _subjects(contact_id: int, conversation_ids: list[int]) -> list[str]:
    return [f"contact:{contact_id}", *(f"conversation:{c}" for c in conversation_ids)]


def _webhook_filter(db: Database, contact: Contact) -> Any:
    clauses: list[Any] = [WebhookEvent.contact_id == contact.id]
    number = number_of(db.keyring, contact)
    if number:
        clauses.append(WebhookEvent.subject_digest.in_(number_digests(db.keyring, number)))
    return WebhookEvent.tenant_id == contact.tenant_id, or_(*clauses)


def export_contact(db: Database, tenant_id: int, contact_id: int) -> dict[str, Any]:
    """Everything held about one customer, decrypted, as one JSON-ready document."""
    with db.tenant_session(tenant_id) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.tenant_id != tenant_id:
            raise LookupError("no such customer")
        if shredded(db, contact):
            raise UserError("this customer was erased: their data key is destroyed, nothing can be read")
        conversations = list(
            session.scalars(
                select(Conversation)
                .where(Conversation.contact_id == contact.id)
                .order_by(Conversation.created_at)
            )
        )
        ids = [c.id for c in conversations]
        document: dict[str, Any] = {
            "format": "frontdesk.customer-export/1",
            "contact": {
                "id": contact.id,
                "wa_id": number_of(db.keyring, contact),
                "bsuid": bsuid_of(db.keyring, contact),
                "profile_name": unseal(db.keyring, contact, "profile_name_ciphertext"),
                "created_at": _iso(contact.created_at),
                "opted_out": contact.opted_out,
                "opted_out_at": _iso(contact.opted_out_at),
                "opted_in_at": _iso(contact.opted_in_at),
                "consent_source": contact.consent_source,
            },
            "conversations": [_conversation(session, db, c) for c in conversations],
            "consent_events": [
                {
                    "kind": e.kind,
                    "source": e.source,
                    "at": _iso(e.at),
                    "wording": e.wording,
                    "language": e.language,
                    "conversation_id": e.conversation_id,
                }
                for e in session.scalars(
                    select(ConsentEvent)
                    .where(ConsentEvent.contact_id == contact.id)
                    .order_by(ConsentEvent.at)
                )
            ],
            "webhook_events": [
                {
                    "kind": e.kind,
                    "field": e.field,
                    "reason": e.reason,
                    "received_at": _iso(e.received_at),
                    "details": e.details,
                    "payload": _payload(db, e),
                }
                for e in session.scalars(
                    select(WebhookEvent)
                    .where(*_webhook_filter(db, contact))
                    .order_by(WebhookEvent.received_at)
                )
            ],
            "audit": [
                {
                    "at": _iso(a.at),
                    "actor": a.actor,
                    "action": a.action,
                    "subject": a.subject,
                    "details": a.details,
                }
                for a in session.scalars(
                    select(AuditEntry)
                    .where(
                        AuditEntry.tenant_id == tenant_id, AuditEntry.subject.in_(_subjects(contact.id, ids))
                    )
                    .order_by(AuditEntry.seq)
                )
            ],
        }
        return document


def shredded(db: Database, contact: Contact) -> bool:
    """Whether the contact's data is under a data key that no longer exists (a restored backup
    of a customer erased since)."""
    tokens = [getattr(contact, c) for c in Contact.encrypted_columns]
    owners = {contact_of_token(t) for t in tokens if t}
    return any(o is not None and db.keyring.data_key(o) is None for o in owners)


def _payload(db: Database, event: WebhookEvent) -> Any:
    raw = _open(db, event, "payload_ciphertext")
    return None if raw is None else json.loads(raw)


def _conversation(session: Session, db: Database, conversation: Conversation) -> dict[str, Any]:
    cid = conversation.id
    messages = session.scalars(
        select(Message).where(Message.conversation_id == cid).order_by(Message.created_at, Message.id)
    )
    notes = session.scalars(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == cid)
        .order_by(ConversationNote.created_at)
    )
    turns = session.scalars(
        select(TurnRow).where(TurnRow.conversation_id == cid).order_by(TurnRow.started_at)
    )
    outbox = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.conversation_id == cid, OutboxItem.status != "sent")
        .order_by(OutboxItem.created_at)
    )
    vault = session.scalars(
        select(VaultEntry).where(VaultEntry.conversation_id == cid).order_by(VaultEntry.created_at)
    )
    return {
        "id": cid,
        "mode": conversation.mode,
        "created_at": _iso(conversation.created_at),
        "last_customer_message_at": _iso(conversation.last_customer_message_at),
        "messages": [
            {
                "id": m.id,
                "direction": m.direction,
                "author": m.author,
                "kind": m.kind,
                "text": _open(db, m, "body_ciphertext"),
                "at": _iso(m.created_at),
                "status": m.status,
                "status_at": _iso(m.status_at),
                "media_id": m.media_id,
            }
            for m in messages
        ],
        "notes": [
            {"author_id": n.author_id, "text": _open(db, n, "body_ciphertext"), "at": _iso(n.created_at)}
            for n in notes
        ],
        "turns": [
            {
                "id": t.id,
                "status": t.status,
                "attempts": t.attempts,
                "message_count": t.message_count,
                "started_at": _iso(t.started_at),
                "finished_at": _iso(t.finished_at),
                "handoff_summary": _open(db, t, "handoff_summary_ciphertext"),
            }
            for t in turns
        ],
        "outbox_unsent": [
            {
                "author": o.author,
                "status": o.status,
                "text": _open(db, o, "body_ciphertext"),
                "at": _iso(o.created_at),
            }
            for o in outbox
        ],
        "redaction_vault": [
            {
                "placeholder": v.placeholder,
                "entity_type": v.entity_type,
                "value": _open(db, v, "value_ciphertext"),
            }
            for v in vault
        ],
    }


@dataclass
class Erased:
    """What an erasure removed from the database (counts only), and what other stores need."""

    contact_id: int
    conversation_ids: list[int]
    customer_ids: list[str]
    """The number and business-scoped id, in memory only (the traces' user hashes come from
    them); never written anywhere."""
    deleted: dict[str, int] = field(default_factory=dict[str, int])
    keys_destroyed: int = 0


def erase_contact(db: Database, tenant_id: int, contact_id: int) -> Erased:
    """Delete every row of one customer and destroy their data key (the caller audits it).

    Rows go first (one transaction), then the key; a key left behind by a crash in between
    is destroyed by :func:`destroy_orphan_keys` (the retention job).
    """
    with db.tenant_session(tenant_id) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.tenant_id != tenant_id:
            raise LookupError("no such customer")
        ids = list(session.scalars(select(Conversation.id).where(Conversation.contact_id == contact_id)))
        known = [number_of(db.keyring, contact), bsuid_of(db.keyring, contact)]
        erased = Erased(contact_id, ids, [c for c in known if c])
        webhook_where = _webhook_filter(db, contact)
        counts = erased.deleted
        for model in (Message, OutboxItem, TurnRow, ConversationNote, VaultEntry):
            result = session.execute(delete(model).where(model.conversation_id.in_(ids)))  # type: ignore[attr-defined]
            counts[model.__tablename__] = _count(result)
        counts["webhook_events"] = _count(session.execute(delete(WebhookEvent).where(*webhook_where)))
        counts["consent_events"] = _count(
            session.execute(delete(ConsentEvent).where(ConsentEvent.contact_id == contact_id))
        )
        counts["conversations"] = _count(
            session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        )
        counts["contacts"] = _count(session.execute(delete(Contact).where(Contact.id == contact_id)))
    with db.admin_session() as session:  # leases are not tenant rows
        keys = [lease_key_of(c) for c in ids]
        counts["worker_leases"] = _count(
            session.execute(delete(WorkerLease).where(WorkerLease.key.in_(keys)))
        )
    erased.keys_destroyed = destroy_keys(db, [contact_id])
    return erased


def lease_key_of(conversation_id: int) -> str:
    """The lease key of a conversation's mailbox (as :func:`workers.drain.lease_key` names it)."""
    return f"conv:{conversation_id}"


def destroy_keys(db: Database, contact_ids: list[int]) -> int:
    return db.keyring.destroy(contact_ids)


def destroy_orphan_keys(db: Database, *, grace_seconds: float = 3600.0) -> int:
    """Destroy data keys whose contact no longer exists (older than ``grace_seconds``: a key is
    made just before its contact's row commits)."""
    from datetime import timedelta

    candidates = db.keyring.store.contacts(older_than=timedelta(seconds=grace_seconds))
    if not candidates:
        return 0
    alive: set[int] = set()
    with db.admin_session() as session:
        ids = [c for _, c in candidates]
        for start in range(0, len(ids), 500):
            alive.update(session.scalars(select(Contact.id).where(Contact.id.in_(ids[start : start + 500]))))
    orphans = [c for _, c in candidates if c not in alive]
    return destroy_keys(db, orphans)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
