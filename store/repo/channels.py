"""WhatsApp channels: a tenant's business number and its sealed secrets.

A channel is *pending* when added and *active* once :func:`activate` records that its own
access token proved it owns the number and account (:mod:`channels.ownership`). Only active
channels are routed webhooks, answer Meta's handshake and send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from errors import Conflict, FieldError, FrontdeskError
from store.crypto import Keyring, Secret
from store.models import Channel, utcnow
from store.repo.lookups import tenants_of_waba
from store.sealed import seal, unseal


@dataclass(frozen=True)
class ChannelSecrets:
    """The channel's secrets, unsealed for one use."""

    app_secret: Secret
    access_token: Secret
    verify_token: Secret


_META_ID = re.compile(r"[0-9]{1,64}")


def validate(
    *,
    phone_number_id: str,
    verify_token: str,
    app_secret: str,
    access_token: str,
    display_phone_number: str | None = None,
    waba_id: str | None = None,
) -> None:
    """The one check of a channel's fields, for the CLI and the API alike (:class:`UserError`)."""
    if not _META_ID.fullmatch(phone_number_id):
        raise FieldError("phone_number_id", "expected the digits Meta shows for the number")
    if waba_id is not None and not _META_ID.fullmatch(waba_id):
        raise FieldError("waba_id", "expected the digits of the WhatsApp Business Account id")
    for name, value, longest in (
        ("verify_token", verify_token, 500),
        ("app_secret", app_secret, 500),
        ("access_token", access_token, 4000),
    ):
        if not 8 <= len(value) <= longest:
            raise FieldError(name, f"expected 8 to {longest} characters")
    if display_phone_number is not None and len(display_phone_number) > 32:
        raise FieldError("display_phone_number", "at most 32 characters")


def add(
    session: Session,
    keyring: Keyring,
    tenant_id: int,
    *,
    phone_number_id: str,
    verify_token: str,
    app_secret: str,
    access_token: str,
    display_phone_number: str | None = None,
    waba_id: str | None = None,
) -> Channel:
    """Connect a WhatsApp number to the tenant, *pending* until :func:`activate` (fields
    checked by :func:`validate`). Another tenant's claim on the number is not looked at here:
    a pending claim holds nothing, and only a proven one is compared (:func:`activate`)."""
    validate(
        phone_number_id=phone_number_id,
        verify_token=verify_token,
        app_secret=app_secret,
        access_token=access_token,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
    )
    mine = select(Channel.id).where(
        Channel.tenant_id == tenant_id, Channel.phone_number_id == phone_number_id
    )
    if session.scalar(mine) is not None:
        raise Conflict("that phone number id is already connected to this tenant")
    channel = Channel(
        tenant_id=tenant_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
        verify_token_digest=keyring.blind_index(verify_token),
    )
    seal(keyring, channel, "verify_token_ciphertext", verify_token)
    seal(keyring, channel, "app_secret_ciphertext", app_secret)
    seal(keyring, channel, "access_token_ciphertext", access_token)
    session.add(channel)
    session.flush()
    return channel


class ClaimedElsewhere(FrontdeskError):
    """Another tenant's active channel has this number or account. Not a :class:`UserError`:
    callers must catch it and answer exactly as for a failed proof (never "in use")."""


def holders(session: Session, channel: Channel) -> list[int]:
    """Other tenants whose *active* channels hold this channel's number or account (ids only,
    through the pre-tenant lookups: never shown to the claimant)."""
    found = {tenant_of_phone_number_id(session, channel.phone_number_id)}
    if channel.waba_id:
        found.update(tenants_of_waba(session, channel.waba_id))
    return sorted(t for t in found if t is not None and t != channel.tenant_id)


def activate(
    session: Session, channel: Channel, *, at: datetime | None = None, display_phone_number: str | None = None
) -> Channel:
    """Mark a channel proven (:mod:`channels.ownership` made the proof; trusted code such as
    tests and the demo may call this directly). :class:`ClaimedElsewhere` when another
    tenant's active channel holds the number or the account (one owner each); a concurrent
    activation of the same number fails at the database's unique index the same way."""
    if holders(session, channel):
        raise ClaimedElsewhere("not proven")
    channel.verified_at = at or utcnow()
    channel.verification_error = None
    if display_phone_number and not channel.display_phone_number:
        channel.display_phone_number = display_phone_number[:32]
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ClaimedElsewhere("not proven") from None
    return channel


def tenant_of_phone_number_id(session: Session, phone_number_id: str) -> int | None:
    """The tenant of the *active* channel of this number: routes a webhook before any tenant
    is pinned (pending claims are invisible)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT frontdesk_channel_tenant(:p)"), {"p": phone_number_id})
    return session.scalar(
        select(Channel.tenant_id).where(
            Channel.phone_number_id == phone_number_id, Channel.verified_at.is_not(None)
        )
    )


def by_phone_number_id(session: Session, phone_number_id: str) -> Channel | None:
    """A channel of this number, the active one first (several tenants may have claimed it)."""
    query = select(Channel).where(Channel.phone_number_id == phone_number_id)
    return session.scalars(query.order_by(Channel.verified_at.is_(None), Channel.id)).first()


def secrets_of(keyring: Keyring, channel: Channel) -> ChannelSecrets:
    def reveal(column: str) -> Secret:
        return Secret(unseal(keyring, channel, column) or "")

    return ChannelSecrets(
        app_secret=reveal("app_secret_ciphertext"),
        access_token=reveal("access_token_ciphertext"),
        verify_token=reveal("verify_token_ciphertext"),
    )
