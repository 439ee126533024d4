"""Reading a conversation for a turn: who the customer is, what the humans wrote."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.crypto import Keyring
from store.errors import NotFound
from store.identity import bsuid_of, number_of
from store.models import Contact, Conversation, Message
from store.sealed import unseal


def customer_of(session: Session, keyring: Keyring, conversation_id: int) -> tuple[str | None, str | None]:
    """The customer's WhatsApp id (or business-scoped id) and profile name."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    contact = session.get(Contact, conversation.contact_id)
    if contact is None:
        return None, None
    customer = number_of(keyring, contact) or bsuid_of(keyring, contact)
    return customer, unseal(keyring, contact, "profile_name_ciphertext")


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
