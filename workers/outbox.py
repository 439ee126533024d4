"""The outbox: replies waiting to be sent, and the sender that sends each exactly once.

A bot reply enters the outbox only through :func:`workers.mailbox.commit_turn` (fenced by
epoch and mode). The sender claims an item (``pending`` → ``sending``) in the same
transaction that locks the conversation row and re-checks its epoch and mode, so a takeover
either commits first (and the item is cancelled) or waits for that claim, and then
:func:`workers.takeover.take_over` waits for the send to finish before it is acknowledged.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, cast, runtime_checkable

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from errors import NotFound, PermanentSendError, SendError
from store import driver
from store.crypto import Keyring, aad_for
from store.db import Database
from store.identity import conversation_keyring, open_number, pacing_key
from store.models import Contact, Conversation, Message, OutboxItem, new_id, utcnow
from workers import hot_sql
from workers._sql import rowcount

log = logging.getLogger(__name__)

FENCED_AUTHORS = ("bot", "system")
"""Authors whose messages are dropped when the conversation's epoch moved on."""


class OutboundSender(Protocol):
    """Sends one text to a customer; returns the WhatsApp message id.

    Raises :class:`errors.SendError`: retried when ``retryable`` (429, 5xx), else failed at once
    (:class:`errors.PermanentSendError`); its ``reason`` is recorded. Must give up within the
    sender's timeout.
    """

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str: ...


@runtime_checkable
class TemplateSender(Protocol):
    """A sender that can also send approved templates (``kind="template"`` outbox items).

    A sender without ``send_template`` fails template items permanently (never as text).
    """

    def send_template(
        self,
        *,
        tenant_id: int,
        conversation_id: int,
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        idempotency_key: str,
    ) -> str: ...


@dataclass(frozen=True)
class TemplateBody:
    """An outbox template item's body: JSON ``{"name", "language", "params"}``."""

    name: str
    language: str
    params: list[str]

    @classmethod
    def parse(cls, body: str) -> TemplateBody:
        """The body, or a :class:`PermanentSendError` with the reason ``bad_template``."""
        try:
            raw: Any = json.loads(body)
        except ValueError:
            raise _bad_template() from None
        if not isinstance(raw, dict):
            raise _bad_template()
        data = cast(dict[str, Any], raw)
        name, language, params = data.get("name"), data.get("language"), data.get("params", [])
        if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
            raise _bad_template()
        if not isinstance(params, list) or not all(isinstance(p, str) for p in cast(list[Any], params)):
            raise _bad_template()
        return cls(name, language, cast(list[str], params))


def _bad_template() -> PermanentSendError:
    return PermanentSendError("the template item's body is not a valid template", reason="bad_template")


class Pacer(Protocol):
    """WhatsApp's sending limits; returns how long to wait before sending (0: go now)."""

    def admit_send(self, tenant_id: int, channel_id: int | None, recipient: str) -> float: ...


def insert_outbox(
    session: Session | Connection,
    keyring: Keyring,
    *,
    tenant_id: int,
    conversation_id: int,
    epoch: int,
    author: str,
    text: str,
    idempotency_key: str,
    claim_until: datetime | None = None,
) -> int:
    """Add an item in the caller's transaction (which must already have checked the epoch).

    With ``claim_until`` the item is born claimed (``sending``, first attempt) for a send
    right after the commit: the caller's transaction took the conversation's row lock and
    checked epoch and mode, which is what a claim checks.
    """
    outbox_id = new_id()
    sql = session.connection() if isinstance(session, Session) else session
    sql.execute(
        _INSERT_OUTBOX,
        {
            "id": outbox_id,
            "tenant_id": tenant_id,
            "conversation_id": conversation_id,
            "idempotency_key": idempotency_key,
            "epoch": epoch,
            "author": author,
            "status": "pending" if claim_until is None else "sending",
            "attempts": 0 if claim_until is None else 1,
            "next_attempt_at": claim_until,
            "created_at": utcnow(),
            "body_ciphertext": conversation_keyring(sql, keyring, conversation_id).encrypt(
                text, aad=aad_for("outbox.body_ciphertext", tenant_id, outbox_id)
            ),
        },
    )
    return outbox_id


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
    send_timeout: float = 12.0
    """How long a claim lasts (a dead sender's item is sent again after it); the sender's HTTP
    timeout (10 s) must be shorter."""
    max_attempts: int = 8
    base_backoff: float = 1.0
    max_backoff: float = 300.0


def backoff(attempt: int, policy: SendPolicy, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the server's Retry-After."""
    ceiling = min(policy.max_backoff, policy.base_backoff * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class Claim:
    """An item this sender holds (``sending``) until its claim expires: what to send, to whom."""

    conversation_id: int
    to: str
    text: str
    key: str
    attempts: int
    author: str
    kind: str
    customer_wrote_at: datetime | None = None
    """When the customer last wrote, as far as the claimer knows (the 24-hour window)."""
    opted_out: bool = False
    """Whether the customer opted out of bot messages, as far as the claimer knows."""


_outbox = cast(Table, OutboxItem.__table__)
_conversations = cast(Table, Conversation.__table__)
_contacts = cast(Table, Contact.__table__)
_messages = cast(Table, Message.__table__)
# Built once: a statement built per call costs more CPU than running it.
_INSERT_OUTBOX = insert(_outbox)
_INSERT_MESSAGE = insert(_messages)

_READ = (
    select(
        _outbox.c.status,
        _outbox.c.author,
        _outbox.c.epoch,
        _outbox.c.conversation_id,
        _outbox.c.attempts,
        _outbox.c.next_attempt_at,
        _outbox.c.idempotency_key,
        _outbox.c.body_ciphertext,
        _outbox.c.kind,
        _contacts.c.id.label("contact_id"),
        _contacts.c.wa_id_ciphertext,
        _contacts.c.opted_out,
        _conversations.c.channel_id,
        _conversations.c.test,
        _conversations.c.last_customer_message_at,
    )
    .select_from(_outbox)
    .join(_conversations, _conversations.c.id == _outbox.c.conversation_id)
    .join(_contacts, _contacts.c.id == _conversations.c.contact_id)
    .where(_outbox.c.id == bindparam("oid"))
)
# Each lock is an UPDATE that changes nothing: it takes the conversation's row lock (so a
# takeover waits for the claim) and checks epoch and mode in the same statement.
_LOCK = {
    "bot": update(_conversations)
    .where(
        _conversations.c.id == bindparam("cid"),
        _conversations.c.epoch == bindparam("b_epoch"),
        _conversations.c.mode == "bot",
    )
    .values(epoch=_conversations.c.epoch),
    "system": update(_conversations)
    .where(_conversations.c.id == bindparam("cid"), _conversations.c.epoch == bindparam("b_epoch"))
    .values(epoch=_conversations.c.epoch),
    "agent": update(_conversations)
    .where(_conversations.c.id == bindparam("cid"))
    .values(epoch=_conversations.c.epoch),
}
_CANCEL = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("oid"), _outbox.c.status.in_(("pending", "sending")))
    .values(status="cancelled", last_error="epoch_changed")
)
_CLAIM = (
    update(_outbox)
    .where(
        _outbox.c.id == bindparam("oid"),
        _outbox.c.status == bindparam("seen_status"),
        _outbox.c.attempts == bindparam("seen_attempts"),
    )
    .values(status="sending", attempts=bindparam("b_attempts"), next_attempt_at=bindparam("b_until"))
)
_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("oid"), _outbox.c.status == "sending")
    .values(status="sent", wa_message_id=bindparam("wa_id"), sent_at=bindparam("at"), last_error=None)
)


def _claim(
    db: Database, tenant_id: int, outbox_id: int, policy: SendPolicy, pacer: Pacer | None
) -> Claim | SendOutcome:
    now = utcnow()
    with db.tenant_session(tenant_id) as session:
        item = session.execute(_READ, {"oid": outbox_id}).one_or_none()
        if item is None or item.status in ("sent", "failed", "cancelled"):
            return SendOutcome("skipped")
        due: datetime | None = item.next_attempt_at
        if due is not None:
            due = due.replace(tzinfo=UTC) if due.tzinfo is None else due
            if due > now:
                return SendOutcome(
                    "busy" if item.status == "sending" else "retry", (due - now).total_seconds()
                )
        to = open_number(db.keyring, tenant_id, item.contact_id, item.wa_id_ciphertext)
        if item.test or to is None:  # a sandbox of ``frontdesk chat`` never reaches WhatsApp
            error = "test_conversation" if item.test else "no_recipient"
            session.execute(
                update(_outbox).where(_outbox.c.id == outbox_id).values(status="failed", last_error=error)
            )
            return SendOutcome("failed", error=error)
        if pacer is not None:
            wait = pacer.admit_send(tenant_id, item.channel_id, pacing_key(item.contact_id))
            if wait > 0:
                return SendOutcome("retry", wait)
        lock = _LOCK.get(item.author, _LOCK["agent"])
        if rowcount(session.execute(lock, {"cid": item.conversation_id, "b_epoch": item.epoch})) != 1:
            session.execute(_CANCEL, {"oid": outbox_id})
            return SendOutcome("cancelled")
        claimed = session.execute(
            _CLAIM,
            {
                "oid": outbox_id,
                "seen_status": item.status,
                "seen_attempts": item.attempts,
                "b_attempts": item.attempts + 1,
                "b_until": now + timedelta(seconds=policy.send_timeout),
            },
        )
        if rowcount(claimed) != 1:
            return SendOutcome("busy", policy.send_timeout)
        text = db.keyring.decrypt(
            item.body_ciphertext, aad=aad_for("outbox.body_ciphertext", tenant_id, outbox_id)
        )
        return Claim(
            item.conversation_id,
            to,
            text,
            item.idempotency_key,
            item.attempts + 1,
            item.author,
            item.kind or "text",
            _aware(item.last_customer_message_at),
            bool(item.opted_out),
        )


def _aware(value: datetime | None) -> datetime | None:
    """Core rows skip the column type on some drivers: SQLite gives naive UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _mark_sent(db: Database, tenant_id: int, outbox_id: int, claim: Claim, wa_message_id: str) -> None:
    now = utcnow()
    message_id = new_id()
    with db.tenant_connection(tenant_id) as sql:
        body = conversation_keyring(sql, db.keyring, claim.conversation_id).encrypt(
            claim.text, aad=aad_for("messages.body_ciphertext", tenant_id, message_id)
        )
        if db.is_postgres:
            sent = {"oid": outbox_id, "wa_id": wa_message_id, "at": now, "id": message_id}
            sent.update(tenant_id=tenant_id, cid=claim.conversation_id, author=claim.author)
            driver.execute(sql, hot_sql.MARK_SENT, {**sent, "kind": claim.kind, "body": body})
            return
        sql.execute(_SENT, {"oid": outbox_id, "wa_id": wa_message_id, "at": now})
        sql.execute(
            _INSERT_MESSAGE,
            {
                "id": message_id,
                "tenant_id": tenant_id,
                "conversation_id": claim.conversation_id,
                "direction": "out",
                "author": claim.author,
                "kind": claim.kind,
                "wa_message_id": wa_message_id,
                "status": "sent",
                "status_at": now,
                "created_at": now,
                "body_ciphertext": body,
            },
        )


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


def _send_claimed(sender: OutboundSender, tenant_id: int, claim: Claim) -> str:
    """Send the claimed item as its kind: a template as a template, never as its JSON text."""
    if claim.kind == "text":
        return sender.send_text(
            tenant_id=tenant_id,
            conversation_id=claim.conversation_id,
            to=claim.to,
            text=claim.text,
            idempotency_key=claim.key,
        )
    if claim.kind != "template":
        raise PermanentSendError(
            "the outbox item has an unknown kind", reason=f"unknown_kind:{claim.kind}"[:60]
        )
    template = TemplateBody.parse(claim.text)
    if not isinstance(sender, TemplateSender):
        raise PermanentSendError("this sender cannot send templates", reason="templates_unsupported")
    return sender.send_template(
        tenant_id=tenant_id,
        conversation_id=claim.conversation_id,
        to=claim.to,
        name=template.name,
        language=template.language,
        parameters=template.params,
        idempotency_key=claim.key,
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
    return deliver(db, sender, tenant_id, outbox_id, claim, policy)


def deliver(
    db: Database, sender: OutboundSender, tenant_id: int, outbox_id: int, claim: Claim, policy: SendPolicy
) -> SendOutcome:
    """Send an item this caller claimed (as the 24-hour window allows), and record sent, retry
    or failed."""
    from workers.window_gate import apply_window  # it builds on this module's claims

    gated = apply_window(db, tenant_id, outbox_id, claim)
    if isinstance(gated, SendOutcome):
        return gated
    claim = gated
    try:
        wa_message_id = _send_claimed(sender, tenant_id, claim)
    except Exception as exc:
        sent = exc if isinstance(exc, SendError) else None
        code = sent.reason if sent else f"error:{type(exc).__name__}"
        retry_after = sent.retry_after if sent else None
        if (sent and not sent.retryable) or claim.attempts >= policy.max_attempts:
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
