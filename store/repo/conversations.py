"""Reading a conversation for a turn: who the customer is, what the humans wrote.

Core statements that run on a session or a bare connection alike (a worker's turn reads
both on one pinned connection, without an ORM session to set up).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from errors import NotFound
from store.crypto import Keyring
from store.identity import bsuid_of, number_of, set_profile_name
from store.models import Contact, Conversation, Message, utcnow
from store.sealed import unseal

_CUSTOMER = (
    select(
        Conversation.id,
        Contact.id,
        Contact.tenant_id,
        Contact.wa_id_ciphertext,
        Contact.bsuid_ciphertext,
        Contact.profile_name_ciphertext,
    )
    .select_from(Conversation)
    .outerjoin(Contact, Contact.id == Conversation.contact_id)
)


def customer_of(
    sql: Session | Connection, keyring: Keyring, conversation_id: int
) -> tuple[str | None, str | None]:
    """The customer's WhatsApp id (or business-scoped id) and profile name."""
    found = sql.execute(_CUSTOMER.where(Conversation.id == conversation_id)).first()
    if found is None:
        raise NotFound(f"no conversation {conversation_id}")
    _, contact_id, tenant_id, wa_id, bsuid, sealed_name = found
    if contact_id is None:  # pyright: ignore[reportUnnecessaryComparison] - an outer join
        return None, None
    contact = Contact(
        id=contact_id,
        tenant_id=tenant_id,
        wa_id_ciphertext=wa_id,
        bsuid_ciphertext=bsuid,
        profile_name_ciphertext=sealed_name,
    )
    customer = number_of(keyring, contact) or bsuid_of(keyring, contact)
    return customer, unseal(keyring, contact, "profile_name_ciphertext")


OUTBOUND_LOOKBACK = 50
"""How many of a conversation's latest outbound messages are searched for the bot's last one."""
_OUTBOUND = (
    select(Message.id, Message.tenant_id, Message.author, Message.body_ciphertext)
    .where(Message.conversation_id == bindparam("cid"), Message.direction == "out")
    .order_by(Message.created_at.desc())
    .limit(bindparam("limit"))
)
"""Built once: every bot turn runs it (building it cost more CPU than running it)."""


def human_replies_since_bot(
    sql: Session | Connection, keyring: Keyring, conversation_id: int, limit: int = OUTBOUND_LOOKBACK
) -> list[str]:
    """What human agents wrote since the bot last spoke, oldest first."""
    rows = sql.execute(_OUTBOUND, {"cid": conversation_id, "limit": limit})
    return human_replies_in(keyring, rows)


def human_replies_in(keyring: Keyring, rows: Iterable[tuple[int, int, str, str | None]]) -> list[str]:
    """What human agents wrote since the bot last spoke, oldest first, from a conversation's
    outbound messages newest first (``id, tenant_id, author, body_ciphertext``)."""
    texts: list[str] = []
    for message_id, tenant_id, author, body in rows:
        if author == "bot":
            break
        if author == "agent":
            row = Message(id=message_id, tenant_id=tenant_id, body_ciphertext=body)
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


def open_sandbox(
    session: Session, keyring: Keyring, tenant_id: int, profile_name: str | None
) -> Conversation:
    """A sandbox: its own test contact (no WhatsApp number) and test conversation.

    ``frontdesk chat`` and tenant evals talk to the receptionist here; no worker, sweeper or
    sender picks a sandbox up, and a live customer's conversation is never joined.
    """
    contact = Contact(tenant_id=tenant_id, test=True)
    set_profile_name(keyring, contact, profile_name)
    session.add(contact)
    session.flush()
    conversation = Conversation(tenant_id=tenant_id, contact_id=contact.id, test=True)
    session.add(conversation)
    session.flush()
    return conversation
