"""A contact's identifiers: sealed under the contact's data key, found through blind indexes.

No column holds a WhatsApp number (or business-scoped id) in clear: ``contacts.wa_id_digest``
is a keyed HMAC of the normalised number (under the master key, so it can be looked up without
decrypting), and the number itself is sealed in ``wa_id_ciphertext`` under the contact's data key.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from store.crypto import Keyring, aad_for
from store.models import Contact, Conversation
from store.sealed import seal, unseal

_NOT_DIGIT = re.compile(r"\D")


def normalize_number(wa_id: str) -> str:
    """The form every mention of one number shares: digits only (``+34 600-11`` → ``3460011``)."""
    return _NOT_DIGIT.sub("", wa_id) or wa_id.strip()


def number_digest(keyring: Keyring, wa_id: str) -> str:
    """The blind index to write for a number (newest master key)."""
    return keyring.blind_index("wa:" + normalize_number(wa_id))


def number_digests(keyring: Keyring, wa_id: str) -> list[str]:
    """The blind indexes to look a number up by (every configured master key)."""
    return keyring.blind_indexes("wa:" + normalize_number(wa_id))


def bsuid_digest(keyring: Keyring, bsuid: str) -> str:
    return keyring.blind_index("bsuid:" + bsuid.strip())


def bsuid_digests(keyring: Keyring, bsuid: str) -> list[str]:
    return keyring.blind_indexes("bsuid:" + bsuid.strip())


def contact_keyring(keyring: Keyring, contact: Contact) -> Keyring:
    """The keyring that seals this contact's data."""
    return keyring.for_contact(contact.tenant_id, contact.id)


def set_number(keyring: Keyring, contact: Contact, wa_id: str | None) -> None:
    """Set (or clear) the contact's number: its blind index and its sealed value."""
    contact.wa_id_digest = None if wa_id is None else number_digest(keyring, wa_id)
    seal(contact_keyring(keyring, contact), contact, "wa_id_ciphertext", wa_id)


def set_bsuid(keyring: Keyring, contact: Contact, bsuid: str | None) -> None:
    contact.bsuid_digest = None if bsuid is None else bsuid_digest(keyring, bsuid)
    seal(contact_keyring(keyring, contact), contact, "bsuid_ciphertext", bsuid)


def set_profile_name(keyring: Keyring, contact: Contact, name: str | None) -> None:
    seal(contact_keyring(keyring, contact), contact, "profile_name_ciphertext", name)


def number_of(keyring: Keyring, contact: Contact) -> str | None:
    return unseal(keyring, contact, "wa_id_ciphertext")


def open_number(keyring: Keyring, tenant_id: int, contact_id: int, token: str | None) -> str | None:
    """Decrypt a ``contacts.wa_id_ciphertext`` read by a Core statement."""
    if token is None:
        return None
    return keyring.decrypt(token, aad=aad_for("contacts.wa_id_ciphertext", tenant_id, contact_id))


def pacing_key(contact_id: int) -> str:
    """How rate limiters and other shared state name a customer (never by number)."""
    return f"c{contact_id}"


def bsuid_of(keyring: Keyring, contact: Contact) -> str | None:
    return unseal(keyring, contact, "bsuid_ciphertext")


def has_number(keyring: Keyring, contact: Contact, wa_id: str) -> bool:
    """Whether the contact's number is ``wa_id`` (compared by blind index, nothing decrypted)."""
    return contact.wa_id_digest is not None and contact.wa_id_digest in number_digests(keyring, wa_id)


_CONTACT_OF = select(Conversation.tenant_id, Conversation.contact_id).where(
    Conversation.id == bindparam("cid")
)
_contact_of: dict[int, tuple[int, int]] = {}
"""conversation id → (tenant, contact): ids are random and never reused, the link never changes."""
_CONTACT_OF_SIZE = 50_000


def contact_of(sql: Session | Connection, conversation_id: int) -> tuple[int, int] | None:
    """The tenant and contact of a conversation (cached in the process), None if it does not exist."""
    found = _contact_of.get(conversation_id)
    if found is not None:
        return found
    row = sql.execute(_CONTACT_OF, {"cid": conversation_id}).one_or_none()
    if row is None:
        return None
    if len(_contact_of) >= _CONTACT_OF_SIZE:
        _contact_of.clear()
    found = _contact_of[conversation_id] = (int(row[0]), int(row[1]))
    return found


def remember_contact_of(conversation_id: int, tenant_id: int, contact_id: int) -> None:
    """Note a conversation's contact read or written by the caller (its tenant's transaction),
    so that :func:`contact_of` need not read it again."""
    if len(_contact_of) >= _CONTACT_OF_SIZE:
        _contact_of.clear()
    _contact_of[conversation_id] = (tenant_id, contact_id)


def conversation_keyring(sql: Session | Connection, keyring: Keyring, conversation_id: int) -> Keyring:
    """The keyring that seals data of a conversation: its contact's data key (the master keys
    for a conversation the store does not have, such as an eval's)."""
    found = contact_of(sql, conversation_id)
    return keyring if found is None else keyring.for_contact(*found)


def new_contact(
    keyring: Keyring,
    tenant_id: int,
    wa_id: str | None = None,
    *,
    bsuid: str | None = None,
    profile_name: str | None = None,
    **values: object,
) -> Contact:
    """A new contact (not yet added to a session) with its identifiers sealed."""
    contact = Contact(tenant_id=tenant_id, **values)
    set_number(keyring, contact, wa_id)
    set_bsuid(keyring, contact, bsuid)
    set_profile_name(keyring, contact, profile_name)
    return contact
