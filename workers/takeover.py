"""Takeover and handback: the human wins.

Both bump the conversation's epoch in one statement, so every run that started before is
fenced off: its reply cannot enter the outbox (:func:`workers.mailbox.commit_turn`) and an
item already there cannot be claimed for sending (:mod:`workers.outbox`). A takeover is
acknowledged (returns) only after any bot send claimed before it has finished, so no bot
message reaches the customer after the acknowledgement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from errors import NotFound
from store.db import Database
from store.models import Conversation, OutboxItem, utcnow
from workers._sql import rowcount
from workers.outbox import FENCED_AUTHORS, in_flight_bot_sends


@dataclass(frozen=True)
class ModeChange:
    """What a takeover or handback did, for the audit log and the API's answer."""

    tenant_id: int
    conversation_id: int
    agent_id: int | None
    mode: str
    previous_epoch: int
    epoch: int
    at: datetime
    cancelled_outbox: int
    in_doubt_sends: int
    """Bot sends still in flight when the wait ran out (0 unless a sender hung)."""


def _change(
    db: Database, tenant_id: int, conversation_id: int, agent_id: int | None, mode: str
) -> tuple[int, int]:
    with db.tenant_session(tenant_id) as session:
        bumped = session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                mode=mode,
                epoch=Conversation.epoch + 1,
                assigned_agent_id=agent_id if mode == "human" else None,
                updated_at=utcnow(),
            )
        )
        if rowcount(bumped) != 1:
            raise NotFound(f"no conversation {conversation_id}")
        epoch = session.scalar(select(Conversation.epoch).where(Conversation.id == conversation_id))
        assert epoch is not None
        cancelled = session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.conversation_id == conversation_id,
                OutboxItem.status == "pending",
                OutboxItem.author.in_(FENCED_AUTHORS),
                OutboxItem.epoch < epoch,
            )
            .values(status="cancelled", last_error="epoch_changed")
        )
        return epoch, rowcount(cancelled)


def _wait_for_sends(db: Database, tenant_id: int, conversation_id: int, epoch: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        with db.tenant_session(tenant_id) as session:
            in_flight = in_flight_bot_sends(session, conversation_id, epoch)
        if in_flight == 0 or time.monotonic() >= deadline:
            return in_flight
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def take_over(
    db: Database, tenant_id: int, conversation_id: int, agent_id: int | None, *, wait: float = 30.0
) -> ModeChange:
    """A human takes the conversation: epoch + 1, mode ``human``; pending bot replies cancelled.

    Returns once no bot send of an earlier epoch is in flight (at most ``wait`` seconds,
    which should exceed the sender's timeout).
    """
    epoch, cancelled = _change(db, tenant_id, conversation_id, agent_id, "human")
    in_doubt = _wait_for_sends(db, tenant_id, conversation_id, epoch, wait)
    return ModeChange(
        tenant_id, conversation_id, agent_id, "human", epoch - 1, epoch, utcnow(), cancelled, in_doubt
    )


def hand_back(db: Database, tenant_id: int, conversation_id: int, agent_id: int | None) -> ModeChange:
    """The human returns the conversation to the bot: epoch + 1, mode ``bot``.

    Messages that arrived while the human had it were theirs; the bot answers only new ones.
    """
    epoch, cancelled = _change(db, tenant_id, conversation_id, agent_id, "bot")
    return ModeChange(tenant_id, conversation_id, agent_id, "bot", epoch - 1, epoch, utcnow(), cancelled, 0)
