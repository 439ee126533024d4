"""Reading a conversation for a turn: who the customer is, what the humans wrote."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.crypto import Keyring
from store.errors import NotFound
from store.models import Contact, Conversation, Message, utcnow
from store.sealed import unseal


def customer_of(session: Session, keyring: Keyring, conversation_id: int) -> tuple[str | None, str | None]:
    """The customer's WhatsApp id (or business-scoped id) and profile name."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    contact = session.get(Contact, conversation.contact_id)
    if contact is None:
        return None, None
    return contact.wa_id or contact.bsuid, unseal(keyring, contact, "profile_name_ciphertext")


def human_replies_since_bot(
    session: Session, keyring: Keyring, conversation_id: int, limit: int = 50
) -> list[str]:
    """What human agents wrote since the bot last spoke, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.created_at.desc())
        .limit(limit)
    )
    texts: list[str] = []
    for row in rows:
        if row.author == "bot":
            break
        if row.author == "agent":
            texts.append(unseal(keyring, row, "body_ciphertext") or "")
    return list(reversed(texts))


def return_to_queue(session: Session, agent_id: int) -> list[int]:
    """Unassign every conversation of a (disabled) agent: back in the queue, as a handed-off
    conversation waits (mode unchanged: ``human`` stays the humans'), for any agent to claim."""
    ids = list(session.scalars(select(Conversation.id).where(Conversation.assigned_agent_id == agent_id)))
    if ids:
        session.execute(
            update(Conversation)
            .where(Conversation.id.in_(ids))
            .values(assigned_agent_id=None, updated_at=utcnow())
        )
    return ids
