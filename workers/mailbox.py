"""The conversation mailbox in the database, and the fenced writes that close a turn.

An inbound message is pending while its ``turn_id`` is NULL. A turn consumes its messages
in the same transaction that writes its reply to the outbox, so a worker that dies mid-turn
leaves the messages pending and the next holder runs the same turn again (same turn id,
same idempotency key). Every write of a worker carries its lease's fencing token and is
conditional on ``conversations.lease_fence`` still being that token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Connection, Table, bindparam, insert, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.redaction.sql_vault import items_in
from agent.redaction.vault import ConversationKey
from errors import NotFound
from knowledge.search import tenant_state_in
from store import driver
from store.crypto import Keyring, aad_for
from store.db import Database
from store.driver import Hot
from store.identity import contact_of, conversation_keyring, open_number, pacing_key, remember_contact_of
from store.models import ConsentEvent, Contact, Conversation, Message, Tenant, TurnRow, new_id, utcnow
from store.repo import conversations
from store.sealed import seal, unseal
from workers import hot_sql
from workers._sql import insert_ignore, rowcount
from workers.outbox import Claim, insert_outbox
from workers.turns import OpenedTurn, TurnCustomer, TurnResult, turn_id_for

_conversations = cast(Table, Conversation.__table__)
_contacts = cast(Table, Contact.__table__)
_messages = cast(Table, Message.__table__)
_turns = cast(Table, TurnRow.__table__)
_tenants = cast(Table, Tenant.__table__)
_INSERT_CONSENT = insert(cast(Table, ConsentEvent.__table__))

# The hot path's statements are built once (building them per call cost more CPU than running them).
_PENDING_WHERE = (
    _messages.c.conversation_id == bindparam("cid"),
    _messages.c.direction == "in",
    _messages.c.turn_id.is_(None),
)
_OPEN = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("cid"), _conversations.c.lease_fence <= bindparam("fence"))
    .values(lease_fence=bindparam("fence"))
    .returning(
        _conversations.c.mode,
        _conversations.c.epoch,
        _conversations.c.channel_id,
        _conversations.c.contact_id,
        select(_contacts.c.wa_id_ciphertext)
        .where(_contacts.c.id == _conversations.c.contact_id)
        .scalar_subquery(),
        _conversations.c.test,
        select(_contacts.c.bsuid_ciphertext)
        .where(_contacts.c.id == _conversations.c.contact_id)
        .scalar_subquery(),
        select(_contacts.c.profile_name_ciphertext)
        .where(_contacts.c.id == _conversations.c.contact_id)
        .scalar_subquery(),
        # The tenant's settings version, so the turn's runtime needs no read of its own.
        select(_tenants.c.settings_version)
        .where(_tenants.c.id == _conversations.c.tenant_id)
        .scalar_subquery(),
    )
)
_SEEN_FENCE = select(_conversations.c.lease_fence).where(_conversations.c.id == bindparam("cid"))
_MAILBOX_COLUMNS = (
    _messages.c.direction,
    _messages.c.id,
    _messages.c.created_at,
    _messages.c.tenant_id,
    _messages.c.author,
    _messages.c.body_ciphertext,
)
_PENDING = (
    select(*_MAILBOX_COLUMNS)
    .where(*_PENDING_WHERE)
    .order_by(_messages.c.created_at, _messages.c.id)
    .limit(bindparam("limit"))
)
_MAILBOX = union_all(
    _PENDING.subquery().select(),
    select(*_MAILBOX_COLUMNS)
    .where(_messages.c.conversation_id == bindparam("cid"), _messages.c.direction == "out")
    .order_by(_messages.c.created_at.desc())
    .limit(bindparam("out_limit"))
    .subquery()
    .select(),
)
"""The pending messages (oldest first, up to ``limit``) and the latest outbound ones (for what
human agents wrote since the bot): one statement; each part's order is restored in Python."""
_TOUCH = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("cid"))
    .values(last_customer_message_at=bindparam("b_at"), updated_at=bindparam("b_at"))
)
_MESSAGE_KEYS = [c.key for c in _messages.columns]
_APPEND_AND_TOUCH = (
    f"WITH m AS (INSERT INTO messages ({', '.join(c.name for c in _messages.columns)}) "
    f"VALUES ({', '.join(['%s'] * len(_MESSAGE_KEYS))}) ON CONFLICT DO NOTHING RETURNING id), "
    "t AS (UPDATE conversations SET last_customer_message_at = %s, updated_at = %s "
    "WHERE id = %s AND EXISTS (SELECT FROM m)) "
    "SELECT id FROM m"
)
"""PostgreSQL: the inbound message and, only if it is new, its conversation's touch in one
statement, straight through the driver (one per webhook)."""
_HAS_PENDING = select(_messages.c.id).where(*_PENDING_WHERE).limit(1)
_HOLDS = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("cid"), _conversations.c.lease_fence == bindparam("fence"))
    .values(lease_fence=bindparam("fence"))
)
_HOLDS_FOR_BOT = (
    update(_conversations)
    .where(
        _conversations.c.id == bindparam("cid"),
        _conversations.c.lease_fence == bindparam("fence"),
        _conversations.c.epoch == bindparam("b_epoch"),
        _conversations.c.mode == "bot",
    )
    .values(lease_fence=bindparam("fence"))
)
_CONSUME = (
    update(_messages)
    .where(*_PENDING_WHERE, _messages.c.id.in_(bindparam("ids", expanding=True)))
    .values(turn_id=bindparam("tid"))
)
_FINISH = (
    update(_turns)
    .where(_turns.c.id == bindparam("tid"))
    .values(status=bindparam("b_status"), finished_at=bindparam("b_at"))
    .returning(_HAS_PENDING.exists())  # messages that arrived during the turn, in the same trip
)


def _upsert_statement(dialect: str) -> Any:
    values = {
        "id": bindparam("tid"),
        "tenant_id": bindparam("b_tenant_id"),
        "conversation_id": bindparam("cid"),
        "status": "running",
        "epoch": bindparam("b_epoch"),
        "fence": bindparam("b_fence"),
        "attempts": 1,
        "message_count": bindparam("b_count"),
        "started_at": bindparam("b_at"),
    }
    insert = postgresql.insert(_turns) if dialect == "postgresql" else sqlite.insert(_turns)
    statement = insert.values(**values)
    return statement.on_conflict_do_update(
        index_elements=[_turns.c.id],
        set_={
            "attempts": _turns.c.attempts + 1,
            "status": "running",
            "epoch": statement.excluded.epoch,
            "fence": statement.excluded.fence,
            "message_count": statement.excluded.message_count,
            "started_at": statement.excluded.started_at,
        },
    ).returning(_turns.c.attempts)


_UPSERT_TURN = {name: _upsert_statement(name) for name in ("postgresql", "sqlite")}
# open_turn's statements, straight through the driver on PostgreSQL (store.driver).
_OPEN_HOT = Hot(_OPEN)
_MAILBOX_HOT = Hot(_MAILBOX)
_UPSERT_TURN_HOT = Hot(_UPSERT_TURN["sqlite"], _UPSERT_TURN["postgresql"])


@dataclass(frozen=True)
class Appended:
    """The stored message; ``duplicate`` when WhatsApp had delivered it before."""

    message_id: int
    duplicate: bool


@dataclass(frozen=True)
class PendingMessage:
    id: int
    created_at: datetime
    text: str

    def __repr__(self) -> str:
        return f"PendingMessage(id={self.id})"


@dataclass(frozen=True)
class ConversationState:
    tenant_id: int
    conversation_id: int
    mode: str
    epoch: int
    lease_fence: int


def append_inbound_in(
    session: Session,
    keyring: Keyring,
    tenant_id: int,
    conversation_id: int,
    *,
    wa_message_id: str,
    text: str,
    kind: str = "text",
    received_at: datetime | None = None,
) -> Appended:
    """Store an inbound message in the mailbox (body sealed); a repeated WhatsApp id is ignored."""
    at = received_at or utcnow()
    row = Message(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        direction="in",
        author="customer",
        kind=kind,
        wa_message_id=wa_message_id,
        status="received",
        created_at=at,
    )
    seal(conversation_keyring(session, keyring, conversation_id), row, "body_ciphertext", text)
    sql = session.connection()
    if sql.dialect.name == "postgresql":
        row.created_at = at = driver.utc(at)
        params = [getattr(row, key) for key in _MESSAGE_KEYS] + [at, at, conversation_id]
        if driver.execute(sql, _APPEND_AND_TOUCH, params).fetchone() is not None:
            return Appended(row.id, duplicate=False)
    elif insert_ignore(session, _messages, {key: getattr(row, key) for key in _MESSAGE_KEYS}):
        sql.execute(_TOUCH, {"cid": conversation_id, "b_at": at})
        return Appended(row.id, duplicate=False)
    existing = session.scalar(
        select(Message.id).where(Message.tenant_id == tenant_id, Message.wa_message_id == wa_message_id)
    )
    if existing is None:  # the id belongs to no message this tenant can see
        raise NotFound("message id conflict")
    return Appended(existing, duplicate=True)


def append_inbound(
    db: Database,
    tenant_id: int,
    conversation_id: int,
    *,
    wa_message_id: str,
    text: str,
    kind: str = "text",
    received_at: datetime | None = None,
) -> Appended:
    """:func:`append_inbound_in` in its own tenant transaction."""
    with db.tenant_session(tenant_id) as session:
        return append_inbound_in(
            session,
            db.keyring,
            tenant_id,
            conversation_id,
            wa_message_id=wa_message_id,
            text=text,
            kind=kind,
            received_at=received_at,
        )


def _pending_filter(conversation_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Message.conversation_id == conversation_id,
        Message.direction == "in",
        Message.turn_id.is_(None),
    )


def pending(db: Database, tenant_id: int, conversation_id: int, limit: int = 50) -> list[PendingMessage]:
    """The mailbox's pending messages, oldest first, decrypted."""
    with db.tenant_session(tenant_id) as session:
        rows = session.scalars(
            select(Message)
            .where(*_pending_filter(conversation_id))
            .order_by(Message.created_at, Message.id)
            .limit(limit)
        ).all()
        return [
            PendingMessage(m.id, m.created_at, unseal(db.keyring, m, "body_ciphertext") or "") for m in rows
        ]


def newest_pending_at(db: Database, tenant_id: int, conversation_id: int) -> datetime | None:
    """When the newest pending message arrived (for the debounce), or None when empty."""
    with db.tenant_session(tenant_id) as session:
        return session.scalar(
            select(Message.created_at)
            .where(*_pending_filter(conversation_id))
            .order_by(Message.created_at.desc())
            .limit(1)
        )


def state(db: Database, tenant_id: int, conversation_id: int) -> ConversationState:
    with db.tenant_session(tenant_id) as session:
        row = session.execute(
            select(Conversation.mode, Conversation.epoch, Conversation.lease_fence).where(
                Conversation.id == conversation_id
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return ConversationState(tenant_id, conversation_id, row.mode, row.epoch, row.lease_fence)


def _holds(sql: Connection, conversation_id: int, fence: int, epoch: int | None = None) -> int:
    """Lock the conversation row if we still hold its fence (and, with ``epoch``, it is still
    the bot's at that epoch)."""
    if epoch is None:
        return rowcount(sql.execute(_HOLDS, {"cid": conversation_id, "fence": fence}))
    return rowcount(sql.execute(_HOLDS_FOR_BOT, {"cid": conversation_id, "fence": fence, "b_epoch": epoch}))


@dataclass(frozen=True)
class Opened:
    """What :func:`open_turn` found.

    ``turn`` is set when there is a turn to run (mode ``bot``: recorded as started, with its
    attempt number) or to close for the human (mode ``human``: not recorded). ``wait`` > 0:
    the newest message is younger than the debounce. ``seen_fence``: a newer holder (or a
    reset counter) owns the conversation; nothing was read.
    """

    turn: OpenedTurn | None = None
    mode: str = "bot"
    wait: float = 0.0
    oldest_at: datetime | None = None
    seen_fence: int | None = None
    recipient: Recipient | None = None
    """Where the reply goes (None: the contact has no WhatsApp id)."""


@dataclass(frozen=True)
class Recipient:
    channel_id: int | None
    wa_id: str
    pacing_key: str
    """How the per-recipient rate limit names the customer (not by number)."""


def open_turn(
    db: Database,
    tenant_id: int,
    conversation_id: int,
    fence: int,
    *,
    settle: float = 0.0,
    limit: int = 50,
    deadline: float = 0.0,
) -> Opened:
    """Register the fence, read the conversation and its pending messages, and start the turn:
    one transaction (the hot path of a drain). On PostgreSQL a bot turn also reads there what
    the agent would read first in transactions of its own: the conversation's vault entries
    and the tenant's knowledge state (``OpenedTurn.vault_items``, ``knowledge_state``).

    Its commit does not wait for the WAL flush (``flush=False``): the turn's commit, or any
    other synchronous commit, makes it durable. A database crash in between forgets the fence
    and the attempt, so :func:`commit_turn`, which requires this fence, finds the turn lost and
    writes nothing; the messages stay pending for the next drain (an older holder whose fence
    the database still has can commit instead of this one, which is one reply all the same).
    """
    with db.tenant_connection(tenant_id, flush=False) as sql:
        opened = _OPEN_HOT.rows(sql, {"cid": conversation_id, "fence": fence})
        row = opened[0] if opened else None
        if row is None:
            seen = sql.scalar(_SEEN_FENCE, {"cid": conversation_id})
            if seen is None:
                raise NotFound(f"no conversation {conversation_id}")
            return Opened(seen_fence=int(seen))
        mode, epoch = str(row[0]), int(row[1])
        if row[5]:  # a sandbox of ``frontdesk chat``: no worker runs it
            return Opened(mode="test")
        remember_contact_of(conversation_id, tenant_id, int(row[3]))  # commit_turn's read, done
        number = open_number(db.keyring, tenant_id, int(row[3]), row[4])
        recipient = Recipient(row[2], number, pacing_key(int(row[3]))) if number else None
        rows = _MAILBOX_HOT.rows(
            sql, {"cid": conversation_id, "limit": limit, "out_limit": conversations.OUTBOUND_LOOKBACK}
        )
        messages: list[Any] = []
        outbound: list[Any] = []
        for m in rows:
            (messages if m.direction == "in" else outbound).append(m)
        messages.sort(key=lambda m: (_aware(m.created_at), m.id))
        if not messages:
            return Opened(mode=mode)
        age = (utcnow() - _aware(messages[-1].created_at)).total_seconds()
        if mode == "bot" and len(messages) < limit and age < settle:
            return Opened(mode=mode, wait=settle - age)
        turn = OpenedTurn(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            turn_id=turn_id_for(conversation_id, messages[0].id),
            epoch=epoch,
            message_ids=tuple(m.id for m in messages),
            texts=tuple(
                db.keyring.decrypt(
                    m.body_ciphertext, aad=aad_for("messages.body_ciphertext", tenant_id, m.id)
                )
                if m.body_ciphertext
                else ""
                for m in messages
            ),
            deadline=deadline,
        )
        if mode == "bot":
            [(attempt,)] = _UPSERT_TURN_HOT.rows(
                sql,
                {
                    "tid": turn.turn_id,
                    "b_tenant_id": tenant_id,
                    "cid": conversation_id,
                    "b_epoch": epoch,
                    "b_fence": fence,
                    "b_count": len(turn.message_ids),
                    "b_at": utcnow(),
                },
            )
            customer = _customer(db.keyring, tenant_id, row, number, outbound)
            version = None if row[8] is None else int(row[8])
            turn = replace(turn, attempt=int(attempt or 1), customer=customer, settings_version=version)
            if db.is_postgres:  # what the turn would read first, each in a transaction of its own
                conversation = ConversationKey(tenant_id, conversation_id)
                turn = replace(
                    turn,
                    vault_items=tuple(items_in(sql, db.keyring, conversation)),
                    knowledge_state=tenant_state_in(sql, tenant_id),
                )
        return Opened(turn=turn, mode=mode, oldest_at=_aware(messages[0].created_at), recipient=recipient)


def _customer(
    keyring: Keyring,
    tenant_id: int,
    row: Any,
    number: str | None,
    outbound: list[Any],
) -> TurnCustomer:
    """Who a bot turn answers (what the runner would read in a transaction of its own);
    ``outbound``: the conversation's latest outbound messages."""
    contact = Contact(
        id=int(row[3]), tenant_id=tenant_id, bsuid_ciphertext=row[6], profile_name_ciphertext=row[7]
    )
    return TurnCustomer(
        customer_id=number or unseal(keyring, contact, "bsuid_ciphertext"),
        profile_name=unseal(keyring, contact, "profile_name_ciphertext"),
        human_messages=tuple(conversations.human_replies_in(keyring, _newest_first(outbound))),
    )


def _newest_first(outbound: list[Any]) -> list[tuple[int, int, str, str | None]]:
    ordered = sorted(outbound, key=lambda m: _aware(m.created_at), reverse=True)
    return [(m.id, m.tenant_id, m.author, m.body_ciphertext) for m in ordered]


def _aware(value: datetime) -> datetime:
    """Core rows skip the column type on some drivers: SQLite gives naive UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class _Conflict(Exception):
    """Another holder consumed these messages first; roll the transaction back."""


def _has_pending(sql: Connection, conversation_id: int) -> bool:
    return sql.scalar(_HAS_PENDING, {"cid": conversation_id}) is not None


def _consume(sql: Connection, turn: OpenedTurn) -> None:
    claimed = sql.execute(
        _CONSUME, {"cid": turn.conversation_id, "ids": list(turn.message_ids), "tid": turn.turn_id}
    )
    if rowcount(claimed) != len(turn.message_ids):
        raise _Conflict


def _finish(sql: Connection, keyring: Keyring, turn: OpenedTurn, status: str, **values: object) -> None:
    """Close the turn's row (made now if the turn was never started: a human's turn)."""
    summary = values.pop("handoff_summary", None)
    if isinstance(summary, str):
        aad = aad_for("turns.handoff_summary_ciphertext", turn.tenant_id, turn.turn_id)
        sealing = conversation_keyring(sql, keyring, turn.conversation_id)
        values["handoff_summary_ciphertext"] = sealing.encrypt(summary, aad=aad)
    values.update(status=status, finished_at=utcnow())
    if rowcount(sql.execute(update(_turns).where(_turns.c.id == turn.turn_id).values(**values))):
        return
    row: dict[str, object] = {"id": turn.turn_id, "tenant_id": turn.tenant_id, "epoch": turn.epoch}
    row.update(conversation_id=turn.conversation_id, message_count=len(turn.message_ids), started_at=utcnow())
    sql.execute(insert(_turns).values(**row, **values))


CommitStatus = Literal["replied", "handoff", "silent", "preempted", "lost"]


@dataclass(frozen=True)
class Committed:
    status: CommitStatus
    outbox_id: int | None = None
    has_more: bool = False
    """Messages arrived during the turn (read in the same transaction)."""
    claim: Claim | None = None
    """The reply, born claimed for an immediate send (``commit_turn(claim_for=...)``)."""


@dataclass(frozen=True)
class ClaimFor:
    """Ask :func:`commit_turn` to insert the reply already claimed for sending to ``to``."""

    to: str
    until: datetime
    customer_wrote_at: datetime | None = None
    """The turn's oldest message: the window is open at least until 24 h after it."""


def reply_key(turn_id: str) -> str:
    """The outbox idempotency key of a turn's reply (one per turn, whatever the retries)."""
    return f"reply:{turn_id}"


def _record_disclosure(sql: Connection, turn: OpenedTurn, result: TurnResult) -> None:
    """Keep the AI disclosure shown to the customer (its words, when, in which language)."""
    found = contact_of(sql, turn.conversation_id)
    if found is None:
        return
    sql.execute(
        _INSERT_CONSENT,
        {
            "id": new_id(),
            "tenant_id": turn.tenant_id,
            "contact_id": found[1],
            "conversation_id": turn.conversation_id,
            "kind": "disclosure",
            "source": "agent",
            "wording": result.disclosure,
            "language": result.language,
            "at": utcnow(),
        },
    )


def commit_turn(
    db: Database, turn: OpenedTurn, fence: int, result: TurnResult, *, claim_for: ClaimFor | None = None
) -> Committed:
    """Consume the turn's messages and, if the conversation is still the bot's at the turn's
    epoch, put the reply in the outbox: one transaction, conditional on fence, epoch and mode.

    A handoff turns the conversation over to humans (epoch + 1); its notice, if any, goes out
    as a ``system`` message at the new epoch. ``preempted``: a human took over during the run,
    so the reply was dropped. ``lost``: another worker holds the lease; nothing was written.
    ``claim_for``: the reply is inserted claimed (this transaction holds the row lock and
    checked epoch and mode, as a claim would), and ``Committed.claim`` says what to send.
    """
    try:
        with db.tenant_connection(turn.tenant_id) as sql:
            cid = turn.conversation_id
            if (
                db.is_postgres
                and result.reply
                and not (result.handoff or result.error or result.handoff_summary)
            ):
                replied = _commit_reply(sql, db.keyring, turn, fence, result, claim_for)
                if replied is not None:
                    return replied
            if _holds(sql, cid, fence, epoch=turn.epoch):
                outbox_id: int | None = None
                claim: Claim | None = None
                author = "system" if result.handoff else "bot"
                if result.handoff:
                    sql.execute(
                        update(_conversations)
                        .where(_conversations.c.id == cid)
                        .values(mode="human", epoch=turn.epoch + 1, updated_at=utcnow())
                    )
                _consume(sql, turn)
                if result.reply:
                    key = reply_key(turn.turn_id)
                    outbox_id = insert_outbox(
                        sql,
                        db.keyring,
                        tenant_id=turn.tenant_id,
                        conversation_id=cid,
                        epoch=turn.epoch + 1 if result.handoff else turn.epoch,
                        author=author,
                        text=result.reply,
                        idempotency_key=key,
                        claim_until=claim_for.until if claim_for else None,
                    )
                    claim = _claim_of(cid, claim_for, result.reply, key, author)
                    if result.disclosure:
                        _record_disclosure(sql, turn, result)
                status: CommitStatus = (
                    "handoff" if result.handoff else "replied" if result.reply else "silent"
                )
                has_more: bool | None = None
                if result.handoff_summary or result.error:  # (a reply without them: _commit_reply)
                    noted = {"last_error": result.error[:200]} if result.error else {}
                    _finish(sql, db.keyring, turn, status, handoff_summary=result.handoff_summary, **noted)
                else:
                    finished = {"tid": turn.turn_id, "cid": cid, "b_status": status, "b_at": utcnow()}
                    has_more = sql.scalar(_FINISH, finished)
                if has_more is None:  # no turn row to finish (or finished with a summary)
                    has_more = _has_pending(sql, cid)
                return Committed(status, outbox_id, bool(has_more), claim)
            if not _holds(sql, cid, fence):
                return Committed("lost")
            _consume(sql, turn)
            _finish(sql, db.keyring, turn, "preempted")
            return Committed("preempted", None, _has_pending(sql, cid))
    except (_Conflict, IntegrityError):
        return Committed("lost")


def _claim_of(cid: int, claim_for: ClaimFor | None, text: str, key: str, author: str) -> Claim | None:
    if claim_for is None:
        return None
    return Claim(cid, claim_for.to, text, key, 1, author, "text", claim_for.customer_wrote_at)


def _commit_reply(
    sql: Connection,
    keyring: Keyring,
    turn: OpenedTurn,
    fence: int,
    result: TurnResult,
    claim_for: ClaimFor | None,
) -> Committed | None:
    """:func:`commit_turn`'s usual case, a bot reply without handoff, in one statement
    (:data:`workers.hot_sql.COMMIT_REPLY`); None when the conversation is no longer held by
    this fence for the bot at the turn's epoch (nothing was written)."""
    assert result.reply is not None
    cid, outbox_id, key, at = turn.conversation_id, new_id(), reply_key(turn.turn_id), utcnow()
    found = contact_of(sql, cid)
    sealing = keyring if found is None else keyring.for_contact(*found)
    params: dict[str, object] = {
        "fence": fence,
        "cid": cid,
        "epoch": turn.epoch,
        "tid": turn.turn_id,
        "ids": list(turn.message_ids),
        "oid": outbox_id,
        "tenant_id": turn.tenant_id,
        "key": key,
        "body": sealing.encrypt(
            result.reply, aad=aad_for("outbox.body_ciphertext", turn.tenant_id, outbox_id)
        ),
        "status": "pending" if claim_for is None else "sending",
        "attempts": 0 if claim_for is None else 1,
        "until": claim_for.until if claim_for else None,
        "at": at,
    }
    disclosure = bool(result.disclosure) and found is not None
    if disclosure:
        assert found is not None
        params.update(
            consent_id=new_id(), contact_id=found[1], wording=result.disclosure, language=result.language
        )
    held, consumed, replies, has_more = driver.execute(
        sql, hot_sql.COMMIT_REPLY[disclosure], params
    ).fetchone()
    if not held:
        return None
    if consumed != len(turn.message_ids) or replies != 1:
        raise _Conflict
    return Committed(
        "replied", outbox_id, bool(has_more), _claim_of(cid, claim_for, result.reply, key, "bot")
    )


def close_without_reply(db: Database, turn: OpenedTurn, fence: int, status: str, **values: object) -> bool:
    """Consume the turn's messages without a reply (``human`` mode, ``failed`` → handoff).

    With ``handoff=True`` the conversation is handed to humans (epoch + 1) in the same write.
    """
    handoff = bool(values.pop("handoff", False))
    try:
        with db.tenant_connection(turn.tenant_id) as sql:
            if not _holds(sql, turn.conversation_id, fence):
                return False
            if handoff:
                sql.execute(
                    update(_conversations)
                    .where(_conversations.c.id == turn.conversation_id, _conversations.c.mode == "bot")
                    .values(mode="human", epoch=_conversations.c.epoch + 1, updated_at=utcnow())
                )
            _consume(sql, turn)
            _finish(sql, db.keyring, turn, status, **values)
            return True
    except _Conflict:
        return False


def note_turn_error(db: Database, turn: OpenedTurn, fence: int, error: str, *, count: bool = True) -> None:
    """Remember why a turn attempt failed (the messages stay pending for the retry).

    ``count=False`` (the provider's 429) does not use up one of the turn's attempts.
    """
    values: dict[str, object] = {"status": "retrying", "last_error": error[:200]}
    if not count:
        values["attempts"] = TurnRow.attempts - 1
    with db.tenant_session(turn.tenant_id) as session:
        session.execute(
            update(TurnRow).where(TurnRow.id == turn.turn_id, TurnRow.fence == fence).values(**values)
        )
