"""Our own sweeper: wake mailboxes that have pending messages and no live lease, and outbox
items that are due or whose sender died. Celery's messages are only wake-ups; this is what
makes a lost wake-up (a killed worker, a lost broker message) harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select

from store.models import Conversation, Message, OutboxItem, utcnow
from workers.context import WorkerContext
from workers.drain import lease_key


@dataclass(frozen=True)
class SweepReport:
    drains: int
    sends: int


def sweep(ctx: WorkerContext, *, min_age: float | None = None, limit: int = 1000) -> SweepReport:
    """Re-enqueue stranded work across tenants (uses the admin session)."""
    age = ctx.config.sweep_min_age if min_age is None else min_age
    now = utcnow()
    cutoff = now - timedelta(seconds=age)
    with ctx.db.admin_session() as session:
        mailboxes = session.execute(
            select(Message.tenant_id, Message.conversation_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.direction == "in",
                Message.turn_id.is_(None),
                Message.created_at <= cutoff,
                Conversation.test.is_(False),  # a sandbox of ``frontdesk chat`` is never drained
            )
            .distinct()
            .limit(limit)
        ).all()
        items = session.execute(
            select(OutboxItem.tenant_id, OutboxItem.id)
            .where(
                OutboxItem.created_at <= cutoff,
                or_(
                    (OutboxItem.status == "pending")
                    & or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now),
                    (OutboxItem.status == "sending") & (OutboxItem.next_attempt_at <= now),
                ),
            )
            .limit(limit)
        ).all()
    drains = 0
    for tenant_id, conversation_id in mailboxes:
        if not ctx.leases.is_held(lease_key(conversation_id)):
            ctx.enqueue.drain(tenant_id, conversation_id)
            drains += 1
    for tenant_id, outbox_id in items:
        ctx.enqueue.send(tenant_id, outbox_id)
    return SweepReport(drains, len(items))
