"""Find or create the store's ``Contact`` for a WhatsApp sender, by phone id and/or BSUID.

Meta is moving from phone-number ids (``wa_id``) to business-scoped user ids (``user_id``,
stored as ``bsuid``); for a while a message may carry either or both. The BSUID is tried
first (it survives a number change), then the ``wa_id``; whichever is missing on the found
row is filled in, so later messages carrying only the other id find the same contact.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from channels.events import ContactRef
from errors import FrontdeskError
from store.crypto import Keyring
from store.identity import (
    bsuid_digests,
    number_digests,
    set_bsuid,
    set_number,
    set_profile_name,
)
from store.models import Contact
from store.rows import insert_now
from store.sealed import unseal

# Built once: a statement built per call costs more CPU than running it (one per webhook).
_BY_BSUID = select(Contact).where(
    Contact.tenant_id == bindparam("tid"), Contact.bsuid_digest.in_(bindparam("refs", expanding=True))
)
_BY_WA_ID = select(Contact).where(
    Contact.tenant_id == bindparam("tid"), Contact.wa_id_digest.in_(bindparam("refs", expanding=True))
)


_CREATED = "contacts_created"


def created_here(session: Session, contact: Contact) -> bool:
    """Whether this session created the contact (so it has no conversation yet)."""
    return contact.id in session.info.get(_CREATED, ())


class UnknownContact(FrontdeskError):
    """The event names no ``wa_id`` and no BSUID; it cannot be keyed."""


def find_contact(session: Session, keyring: Keyring, tenant_id: int, ref: ContactRef) -> Contact | None:
    """The tenant's contact matching the BSUID, else the ``wa_id`` (by blind index); ``None``
    when neither matches."""
    if ref.bsuid:
        found = session.scalar(_BY_BSUID, {"tid": tenant_id, "refs": bsuid_digests(keyring, ref.bsuid)})
        if found is not None:
            return found
    if ref.wa_id:
        return session.scalar(_BY_WA_ID, {"tid": tenant_id, "refs": number_digests(keyring, ref.wa_id)})
    return None


def _taken(session: Session, digests: list[str], column: str, tenant_id: int, contact: Contact) -> bool:
    attribute = Contact.wa_id_digest if column == "wa_id" else Contact.bsuid_digest
    other = session.scalar(
        select(Contact.id).where(
            Contact.tenant_id == tenant_id, attribute.in_(digests), Contact.id != contact.id
        )
    )
    return other is not None


def _matches(digest: str | None, digests: list[str]) -> bool:
    return digest is not None and digest in digests


def resolve_contact(session: Session, keyring: Keyring, tenant_id: int, ref: ContactRef) -> Contact:
    """The contact for ``ref``, created if new; missing ids and a changed profile name are filled in.

    A ``wa_id`` found on a row with a *different* BSUID has been recycled: it moves to a new
    contact. If the ``wa_id`` already belongs to another row while the BSUID matched (two
    rows for one person), the rows are left for an operator to merge; the BSUID's row wins.
    """
    if not ref.known:
        raise UnknownContact("the sender has neither a WhatsApp id nor a business-scoped id")
    contact = find_contact(session, keyring, tenant_id, ref)
    bsuids = bsuid_digests(keyring, ref.bsuid) if ref.bsuid else []
    if (
        contact is not None
        and ref.bsuid
        and contact.bsuid_digest
        and not _matches(contact.bsuid_digest, bsuids)
    ):
        # The number now belongs to someone else (numbers are recycled): it moves to the new person.
        set_number(keyring, contact, None)
        session.flush()
        contact = None
    if contact is None:
        contact = Contact(tenant_id=tenant_id)
        keyring.for_new_contact(tenant_id, contact.id)  # its data key, made without a lookup
        set_number(keyring, contact, ref.wa_id)
        set_bsuid(keyring, contact, ref.bsuid)
        if ref.profile_name:
            set_profile_name(keyring, contact, ref.profile_name)
        insert_now(session, contact)
        session.info.setdefault(_CREATED, set()).add(contact.id)
        return contact
    if (
        ref.bsuid
        and contact.bsuid_digest is None
        and not _taken(session, bsuids, "bsuid", tenant_id, contact)
    ):
        set_bsuid(keyring, contact, ref.bsuid)
    if ref.wa_id:
        numbers = number_digests(keyring, ref.wa_id)
        if not _matches(contact.wa_id_digest, numbers) and not _taken(
            session, numbers, "wa_id", tenant_id, contact
        ):
            # Found by BSUID with a new phone number (or none yet): the number follows the person.
            set_number(keyring, contact, ref.wa_id)
    if ref.profile_name and unseal(keyring, contact, "profile_name_ciphertext") != ref.profile_name:
        set_profile_name(keyring, contact, ref.profile_name)
    session.flush()
    return contact


def change_number(
    session: Session, keyring: Keyring, tenant_id: int, old_wa_id: str | None, new_wa_id: str | None
) -> Contact | None:
    """Apply a ``user_changed_number`` system event; returns the updated contact, if any."""
    if not old_wa_id or not new_wa_id or old_wa_id == new_wa_id:
        return None
    contact = find_contact(session, keyring, tenant_id, ContactRef(wa_id=old_wa_id))
    if contact is None or _taken(session, number_digests(keyring, new_wa_id), "wa_id", tenant_id, contact):
        return None
    set_number(keyring, contact, new_wa_id)
    session.flush()
    return contact
