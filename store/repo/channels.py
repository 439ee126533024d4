"""WhatsApp channels: a tenant's business number and its sealed secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from errors import Conflict, FieldError
from store.crypto import Keyring, Secret
from store.models import Channel
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
    """Connect a WhatsApp number to the tenant (fields checked by :func:`validate`)."""
    validate(
        phone_number_id=phone_number_id,
        verify_token=verify_token,
        app_secret=app_secret,
        access_token=access_token,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
    )
    if tenant_of_phone_number_id(session, phone_number_id) is not None:
        raise Conflict("that phone number id is already connected")
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


def tenant_of_phone_number_id(session: Session, phone_number_id: str) -> int | None:
    """Route a webhook to its tenant before any tenant is pinned."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT frontdesk_channel_tenant(:p)"), {"p": phone_number_id})
    return session.scalar(select(Channel.tenant_id).where(Channel.phone_number_id == phone_number_id))


def by_phone_number_id(session: Session, phone_number_id: str) -> Channel | None:
    return session.scalar(select(Channel).where(Channel.phone_number_id == phone_number_id))


def secrets_of(keyring: Keyring, channel: Channel) -> ChannelSecrets:
    def reveal(column: str) -> Secret:
        return Secret(unseal(keyring, channel, column) or "")

    return ChannelSecrets(
        app_secret=reveal("app_secret_ciphertext"),
        access_token=reveal("access_token_ciphertext"),
        verify_token=reveal("verify_token_ciphertext"),
    )
