"""Proof that a channel's own access token owns its phone number and WhatsApp Business Account.

A channel is *active* only after the Graph API, asked with the access token the tenant gave,
returns that number (``GET /{phone_number_id}``) and lists it among the account's numbers
(``GET /{waba_id}/phone_numbers``, when an account is named). Until then it is *pending*: no
webhook is routed to it, it answers no handshake, nothing is sent from it.

A number or account that another tenant's active channel holds is refused with the very
answer a failed proof gets (:data:`NOT_PROVEN`): nobody learns from us which numbers other
tenants use. The holder's audit chain records that a claim was refused (without the
claimant), and the operator's log names both tenants.

:func:`connect` (``POST /api/channels``, ``frontdesk channels add``) proves before it writes:
a refused claim writes nothing but an audit entry; a proof Meta could not answer (network,
server error, rate limit) keeps the channel pending, to be proven with :func:`reverify`
(``POST /api/channels/{id}/verify``, ``frontdesk channels verify``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from channels.cloud_api import CloudApiClient, PhoneNumber
from channels.errors import CloudApiReadError
from errors import NotFound, UserError
from store import audit
from store.crypto import Secret
from store.db import Database
from store.models import Channel, utcnow
from store.repo import channels as channel_repo
from store.repo.channels import ClaimedElsewhere

log = logging.getLogger("frontdesk.channels.ownership")

Reason = Literal["not_proven", "token_invalid", "unavailable"]
NOT_PROVEN = (
    "could not prove that this access token owns phone number id {number}{account}: check both "
    "ids, and that the token's system user is assigned to the WhatsApp Business Account (with "
    "whatsapp_business_management); if they are right, ask your operator"
)
BAD_CREDENTIAL = "Meta refused the access token (invalid or expired)"
UNAVAILABLE = (
    "the Graph API could not be asked ({detail}): the channel stays pending until it is verified again"
)


STORED = {
    "not_proven": "ownership not proven",
    "token_invalid": "Meta refused the access token",
}
"""The short reason kept on the channel (``verification_error``) after a refused proof."""


class OwnershipNotProven(UserError):
    """The claim was refused (``reason`` ``not_proven`` or ``token_invalid``). The message is
    the same whether the token owns nothing or another tenant holds the number."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    """What a proof concluded: ``active``, or ``pending`` (with why) when Meta could not answer."""

    channel_id: int
    status: Literal["active", "pending"]
    message: str | None = None


@dataclass(frozen=True)
class Claim:
    """A channel's fields as a tenant admin or the operator submits them (the keywords of
    :func:`store.repo.channels.add`)."""

    phone_number_id: str
    verify_token: str
    app_secret: str
    access_token: str
    display_phone_number: str | None = None
    waba_id: str | None = None


ClientFactory = Callable[[], CloudApiClient]


def _not_proven(phone_number_id: str, waba_id: str | None) -> OwnershipNotProven:
    account = f" and WhatsApp Business Account {waba_id}" if waba_id else ""
    return OwnershipNotProven(NOT_PROVEN.format(number=phone_number_id, account=account), "not_proven")


def prove(
    client: CloudApiClient, *, phone_number_id: str, waba_id: str | None, access_token: Secret
) -> PhoneNumber:
    """The number as the Graph API shows it to this token, if the token owns it (and the
    account lists it). :class:`OwnershipNotProven`, or :class:`CloudApiReadError` with reason
    ``unavailable`` when Meta could not be asked."""
    try:
        number = client.phone_number(phone_number_id=phone_number_id, access_token=access_token)
        if number.id != phone_number_id:
            raise _not_proven(phone_number_id, waba_id)
        if waba_id is not None:
            listed = client.waba_phone_numbers(waba_id=waba_id, access_token=access_token)
            if phone_number_id not in {n.id for n in listed}:
                raise _not_proven(phone_number_id, waba_id)
    except CloudApiReadError as exc:
        if exc.reason == "unavailable":
            raise
        if exc.reason == "token_invalid":
            raise OwnershipNotProven(BAD_CREDENTIAL, "token_invalid") from None
        raise _not_proven(phone_number_id, waba_id) from None
    return number


def _ask(client: ClientFactory, claim: Claim) -> PhoneNumber:
    with client() as graph:
        return prove(
            graph,
            phone_number_id=claim.phone_number_id,
            waba_id=claim.waba_id,
            access_token=Secret(claim.access_token),
        )


def _unavailable(exc: CloudApiReadError) -> str:
    return UNAVAILABLE.format(detail=str(exc).removeprefix("Graph API read failed: "))


def _refuse_held(
    db: Database, tenant_id: int, actor: str, subject: str | None, claim: Claim, holders: list[int]
) -> OwnershipNotProven:
    """The refusal of a proven claim on a number or account another tenant holds: the same
    answer and audit entry as any failed proof; the holders are told (not who claimed)."""
    refusal = _not_proven(claim.phone_number_id, claim.waba_id)
    _refused(db, tenant_id, actor, subject, claim, refusal)
    _tell_holders(db, tenant_id, holders, claim)
    return refusal


def _refused(
    db: Database, tenant_id: int, actor: str, subject: str | None, claim: Claim, exc: OwnershipNotProven
) -> None:
    with db.tenant_session(tenant_id) as session:
        audit.append(
            session,
            tenant_id,
            actor=actor,
            action="config.channel_refused",
            subject=subject,
            details={
                "phone_number_id": claim.phone_number_id,
                "waba_id": claim.waba_id,
                "reason": exc.reason,
            },
        )


def _tell_holders(db: Database, tenant_id: int, holders: list[int], claim: Claim) -> None:
    """The holders' chains record the refused claim (never who made it); the operator's log names both."""
    log.warning(
        "channel claim refused: tenant %s claimed number %s / account %s held by tenant(s) %s",
        tenant_id,
        claim.phone_number_id,
        claim.waba_id,
        holders,
    )
    for holder in holders:
        with db.tenant_session(holder) as session:
            audit.append(
                session,
                holder,
                actor="system",
                action="security.channel_claim_refused",
                details={"phone_number_id": claim.phone_number_id, "waba_id": claim.waba_id},
            )


def _activate(session: Session, channel: Channel, number: PhoneNumber, at: datetime) -> None:
    """Activate in the caller's transaction; a holder elsewhere raises :class:`_Held`."""
    try:
        channel_repo.activate(session, channel, at=at, display_phone_number=number.display_phone_number)
    except ClaimedElsewhere:
        raise _Held(channel_repo.holders(session, channel)) from None


class _Held(Exception):
    def __init__(self, holders: list[int]) -> None:
        super().__init__("held elsewhere")
        self.holders = holders


def connect(
    db: Database,
    tenant_id: int,
    claim: Claim,
    client: ClientFactory,
    *,
    actor: str,
    at: datetime | None = None,
) -> Verified:
    """Add a channel, proving ownership first (see the module's docstring)."""
    channel_repo.validate(**asdict(claim))
    now = at or utcnow()
    number: PhoneNumber | None = None
    pending: str | None = None
    try:
        number = _ask(client, claim)
    except OwnershipNotProven as exc:
        _refused(db, tenant_id, actor, None, claim, exc)
        raise
    except CloudApiReadError as exc:
        pending = _unavailable(exc)
    try:
        with db.tenant_session(tenant_id) as session:
            channel = channel_repo.add(session, db.keyring, tenant_id, **asdict(claim))
            if number is not None:
                _activate(session, channel, number, now)
            else:
                channel.verification_error = (pending or "")[:200]
            audit.append(
                session,
                tenant_id,
                actor=actor,
                action="config.channel_added",
                subject=f"channel:{channel.id}",
                details={
                    "phone_number_id": claim.phone_number_id,
                    "waba_id": claim.waba_id,
                    "status": channel.status,
                },
            )
            return Verified(channel.id, "active" if number is not None else "pending", pending)
    except _Held as held:
        raise _refuse_held(db, tenant_id, actor, None, claim, held.holders) from None


def reverify(
    db: Database,
    tenant_id: int,
    channel_id: int,
    client: ClientFactory,
    *,
    actor: str,
    at: datetime | None = None,
) -> Verified:
    """Prove a connected channel's ownership again: a pending one becomes active; an active
    one that fails stays active (a failure may be Meta's) and the failure is raised and audited."""
    with db.tenant_session(tenant_id) as session:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            raise NotFound("no such channel")
        claim = Claim(
            phone_number_id=channel.phone_number_id,
            verify_token="",
            app_secret="",
            access_token=channel_repo.secrets_of(db.keyring, channel).access_token.reveal(),
            waba_id=channel.waba_id,
        )
    subject = f"channel:{channel_id}"
    try:
        number = _ask(client, claim)
    except OwnershipNotProven as exc:
        _set_error(db, tenant_id, channel_id, STORED[exc.reason])
        _refused(db, tenant_id, actor, subject, claim, exc)
        raise
    except CloudApiReadError as exc:
        message = _unavailable(exc)
        _set_error(db, tenant_id, channel_id, message)
        return Verified(channel_id, _status_of(db, tenant_id, channel_id), message)
    try:
        with db.tenant_session(tenant_id) as session:
            channel = session.get(Channel, channel_id)
            if channel is None:
                raise NotFound("no such channel")
            _activate(session, channel, number, at or utcnow())
            audit.append(
                session,
                tenant_id,
                actor=actor,
                action="config.channel_verified",
                subject=subject,
                details={"phone_number_id": claim.phone_number_id, "waba_id": claim.waba_id},
            )
            return Verified(channel_id, "active")
    except _Held as held:
        _set_error(db, tenant_id, channel_id, STORED["not_proven"])
        raise _refuse_held(db, tenant_id, actor, subject, claim, held.holders) from None


def _set_error(db: Database, tenant_id: int, channel_id: int, message: str) -> None:
    with db.tenant_session(tenant_id) as session:
        channel = session.get(Channel, channel_id)
        if channel is not None:
            channel.verification_error = message[:200]


def _status_of(db: Database, tenant_id: int, channel_id: int) -> Literal["active", "pending"]:
    with db.tenant_session(tenant_id) as session:
        channel = session.get(Channel, channel_id)
        return "active" if channel is not None and channel.verified_at is not None else "pending"
