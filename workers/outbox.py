"""The outbox: replies waiting to be sent, and the sender that sends each exactly once.

A bot reply enters the outbox only through :func:`workers.mailbox.commit_turn` (fenced by
epoch and mode). The sender claims an item (``pending`` → ``sending``) in the same
transaction that locks the conversation row and re-checks its epoch and mode, so a takeover
either commits first (and the item is cancelled) or waits for that claim, and then
:func:`workers.takeover.take_over` waits for the send to finish before it is acknowledged.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.crypto import Keyring
from store.db import Database
from store.errors import NotFound
from store.models import Contact, Conversation, Message, OutboxItem, utcnow
from store.sealed import seal, unseal
from workers._sql import rowcount
from workers.errors import PermanentSendError, RetryableSendError

log = logging.getLogger(__name__)

FENCED_AUTHORS = ("bot", "system")
"""Authors whose messages are dropped when the conversation's epoch moved on."""


class OutboundSender(Protocol):
    """Sends one text to a customer; returns the WhatsApp message id.

    Raises :class:`workers.errors.RetryableSendError` (429, 5xx) or
    :class:`workers.errors.PermanentSendError`. Must give up within the sender's timeout.
    """

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str: ...


class Pacer(Protocol):
    """WhatsApp's sending limits; returns how long to wait before sending (0: go now)."""

    def admit_send(self, tenant_id: int, channel_id: int | None, recipient: str) -> float: ...


def insert_outbox(
    session: Session,
    keyring: Keyring,
    *,
    tenant_id: int,
    conversation_id: int,
    epoch: int,
    author: str,
    text: str,
    idempotency_key: str,
) -> int:
    """Add an item in the caller's transaction (which must already have checked the epoch)."""
    item = OutboxItem(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        idempotency_key=idempotency_key,
        epoch=epoch,
        author=author,
        status="pending",
        attempts=0,
        created_at=utcnow(),
    )
    seal(keyring, item, "body_ciphertext", text)
    session.add(item)
    session.flush()
    return item.id


def enqueue_agent_reply(
    db: Database, tenant_id: int, conversation_id: int, agent_id: int | None, text: str, *, key: str
) -> int:
    """A human agent's reply: not fenced by bot mode; ``key`` makes a retried request harmless."""
    with db.tenant_session(tenant_id) as session:
        existing = session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key))
        if existing is not None:
            return existing
        epoch = session.scalar(select(Conversation.epoch).where(Conversation.id == conversation_id))
        if epoch is None:
            raise NotFound(f"no conversation {conversation_id}")
        return insert_outbox(
            session,
            db.keyring,
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            epoch=epoch,
            author="agent",
            text=text,
            idempotency_key=key,
        )


SendStatus = Literal["sent", "retry", "failed", "cancelled", "skipped", "busy"]


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one item; ``retry_in`` seconds for ``retry`` and ``busy``."""

    status: SendStatus
    retry_in: float | None = None
    wa_message_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SendPolicy:
    send_timeout: float = 30.0
    """How long a claim lasts; the sender's HTTP timeout must be shorter."""
    max_attempts: int = 8
    base_backoff: float = 1.0
    max_backoff: float = 300.0


def backoff(attempt: int, policy: SendPolicy, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the server's Retry-After."""
    ceiling = min(policy.max_backoff, policy.base_backoff * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class _Claim:
    conversation_id: int
    to: str
    text: str
    key: str
    attempts: int
    author: str


def _lock_for_send(session: Session, item: OutboxItem) -> bool:
    """Lock the conversation row; for bot and system items, only if the epoch still matches."""
    conditions = [Conversation.id == item.conversation_id]
    if item.author in FENCED_AUTHORS:
        conditions.append(Conversation.epoch == item.epoch)
    if item.author == "bot":
        conditions.append(Conversation.mode == "bot")
    touched = session.execute(update(Conversation).where(*conditions).values(epoch=Conversation.epoch))
    return rowcount(touched) == 1


def _claim(
    db: Database, tenant_id: int, outbox_id: int, policy: SendPolicy, pacer: Pacer | None
) -> _Claim | SendOutcome:
    now = utcnow()
    with db.tenant_session(tenant_id) as session:
        item = session.get(OutboxItem, outbox_id)
        if item is None or item.status in ("sent", "failed", "cancelled"):
            return SendOutcome("skipped")
        due: datetime | None = item.next_attempt_at
        if due is not None and due > now:
            return SendOutcome("busy" if item.status == "sending" else "retry", (due - now).total_seconds())
        contact = session.execute(
            select(Contact.wa_id, Conversation.channel_id)
            .join(Conversation, Conversation.contact_id == Contact.id)
            .where(Conversation.id == item.conversation_id)
        ).one_or_none()
        to = None if contact is None else contact.wa_id
        if to is None:
            item.status, item.last_error = "failed", "no_recipient"
            return SendOutcome("failed", error="no_recipient")
        if pacer is not None:
            wait = pacer.admit_send(tenant_id, contact.channel_id if contact else None, to)
            if wait > 0:
                return SendOutcome("retry", wait)
        if not _lock_for_send(session, item):
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == outbox_id, OutboxItem.status.in_(("pending", "sending")))
                .values(status="cancelled", last_error="epoch_changed")
            )
            return SendOutcome("cancelled")
        claimed = session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == outbox_id,
                OutboxItem.status == item.status,
                OutboxItem.attempts == item.attempts,
            )
            .values(
                status="sending",
                attempts=item.attempts + 1,
                next_attempt_at=now + timedelta(seconds=policy.send_timeout),
            )
        )
        if rowcount(claimed) != 1:
            return SendOutcome("busy", policy.send_timeout)
        text = unseal(db.keyring, item, "body_ciphertext") or ""
        return _Claim(item.conversation_id, to, text, item.idempotency_key, item.attempts + 1, item.author)


def _mark_sent(db: Database, tenant_id: int, outbox_id: int, claim: _Claim, wa_message_id: str) -> None:
    now = utcnow()
    with db.tenant_session(tenant_id) as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == outbox_id, OutboxItem.status == "sending")
            .values(status="sent", wa_message_id=wa_message_id, sent_at=now, last_error=None)
        )
        message = Message(
            tenant_id=tenant_id,
            conversation_id=claim.conversation_id,
            direction="out",
            author=claim.author,
            kind="text",
            wa_message_id=wa_message_id,
            status="sent",
            status_at=now,
            created_at=now,
        )
        seal(db.keyring, message, "body_ciphertext", claim.text)
        session.add(message)


def _mark_unsent(
    db: Database, tenant_id: int, outbox_id: int, status: str, error: str, retry_in: float | None
) -> None:
    values: dict[str, object] = {"status": status, "last_error": error[:200]}
    if retry_in is not None:
        values["next_attempt_at"] = utcnow() + timedelta(seconds=retry_in)
    with db.tenant_session(tenant_id) as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == outbox_id, OutboxItem.status == "sending")
            .values(**values)
        )


def send_item(
    db: Database,
    sender: OutboundSender,
    tenant_id: int,
    outbox_id: int,
    *,
    policy: SendPolicy | None = None,
    pacer: Pacer | None = None,
) -> SendOutcome:
    """Send one outbox item at most once per claim; safe to call any number of times."""
    policy = policy or SendPolicy()
    claim = _claim(db, tenant_id, outbox_id, policy, pacer)
    if isinstance(claim, SendOutcome):
        return claim
    try:
        wa_message_id = sender.send_text(
            tenant_id=tenant_id,
            conversation_id=claim.conversation_id,
            to=claim.to,
            text=claim.text,
            idempotency_key=claim.key,
        )
    except PermanentSendError as exc:
        _mark_unsent(db, tenant_id, outbox_id, "failed", exc.code, None)
        return SendOutcome("failed", error=exc.code)
    except Exception as exc:
        code = exc.code if isinstance(exc, RetryableSendError) else f"error:{type(exc).__name__}"
        retry_after = exc.retry_after if isinstance(exc, RetryableSendError) else None
        if claim.attempts >= policy.max_attempts:
            _mark_unsent(db, tenant_id, outbox_id, "failed", code, None)
            return SendOutcome("failed", error=code)
        delay = backoff(claim.attempts, policy, retry_after)
        _mark_unsent(db, tenant_id, outbox_id, "pending", code, delay)
        log.info("send retry in %.1fs (attempt %d): %s", delay, claim.attempts, code)
        return SendOutcome("retry", delay, error=code)
    _mark_sent(db, tenant_id, outbox_id, claim, wa_message_id)
    return SendOutcome("sent", wa_message_id=wa_message_id)


def in_flight_bot_sends(session: Session, conversation_id: int, before_epoch: int) -> int:
    """Bot or system items of earlier epochs still being sent (a takeover waits for them)."""
    rows = session.scalars(
        select(OutboxItem.id).where(
            OutboxItem.conversation_id == conversation_id,
            OutboxItem.status == "sending",
            OutboxItem.author.in_(FENCED_AUTHORS),
            OutboxItem.epoch < before_epoch,
            OutboxItem.next_attempt_at > utcnow(),
        )
    ).all()
    return len(rows)
