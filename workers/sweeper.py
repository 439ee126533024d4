"""Our own sweeper: wake mailboxes that have pending messages and no live lease, and outbox
items that are due or whose sender died. Celery's messages are only wake-ups; this is what
makes a lost wake-up (a killed worker, a lost broker message) harmless.

Every worker process runs it (:class:`SweepLoop`, every ``sweep_interval`` seconds) under a
lock that expires: whichever worker is alive sweeps, one at a time, with no ``beat`` needed.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, text

from store.models import Conversation, Message, OutboxItem, utcnow
from workers.context import WorkerContext
from workers.drain import lease_key

Rows = list[tuple[int, int]]
log = logging.getLogger(__name__)

SWEEP_LOCK = "sweeper"


@dataclass(frozen=True)
class SweepReport:
    drains: int
    sends: int


def _stranded_postgres(
    ctx: WorkerContext, cutoff: datetime, now: datetime, limit: int, *, mailbox_cutoff: datetime
) -> tuple[Rows, Rows]:
    """On PostgreSQL the application sees no tenant's rows without its pin: the owner's narrow
    functions list (tenant, id) pairs of stranded work, and nothing else (migration 0010_db_roles)."""
    with ctx.db.app_session() as session:
        mailboxes = session.execute(
            text("SELECT * FROM frontdesk_stranded_mailboxes(:cutoff, :limit)"),
            {"cutoff": mailbox_cutoff, "limit": limit},
        ).all()
        items = session.execute(
            text("SELECT * FROM frontdesk_due_outbox(:cutoff, :now, :limit)"),
            {"cutoff": cutoff, "now": now, "limit": limit},
        ).all()
    return [(int(t), int(i)) for t, i in mailboxes], [(int(t), int(i)) for t, i in items]


def sweep(ctx: WorkerContext, *, min_age: float | None = None, limit: int = 1000) -> SweepReport:
    """Re-enqueue stranded work across tenants.

    A mailbox is stranded when its pending messages are older than ``min_age`` plus the
    turns queue's backlog (how long its oldest wake-up has waited): younger ones may still
    have their wake-up in the queue, and a second one would only wait behind it. Without
    that, every mailbox behind a backlog was woken again on every sweep (under saturation
    about one extra drain per message).
    """
    age = ctx.config.sweep_min_age if min_age is None else min_age
    now = utcnow()
    try:
        backlog = ctx.enqueue.drain_backlog()
    except Exception as exc:  # the broker is away: sweep as if the queue were empty
        log.warning("turns queue backlog unknown: %s", type(exc).__name__)
        backlog = 0.0
    cutoff = now - timedelta(seconds=age)
    stranded = _stranded_postgres if ctx.db.is_postgres else _stranded
    mailboxes, items = stranded(ctx, cutoff, now, limit, mailbox_cutoff=cutoff - timedelta(seconds=backlog))
    drains = 0
    cooling: dict[int, bool] = {}
    for tenant_id, conversation_id in mailboxes:
        if tenant_id not in cooling:  # a tenant whose provider said 429: its drains wake themselves
            cooling[tenant_id] = ctx.fairness.cooling_down(tenant_id)
        if not cooling[tenant_id] and not ctx.leases.is_held(lease_key(conversation_id)):
            ctx.enqueue.drain(tenant_id, conversation_id)
            drains += 1
    for tenant_id, outbox_id in items:
        ctx.enqueue.send(tenant_id, outbox_id)
    return SweepReport(drains, len(items))


def _stranded(
    ctx: WorkerContext, cutoff: datetime, now: datetime, limit: int, *, mailbox_cutoff: datetime
) -> tuple[Rows, Rows]:
    with ctx.db.admin_session() as session:
        mailboxes = session.execute(
            select(Message.tenant_id, Message.conversation_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.direction == "in",
                Message.turn_id.is_(None),
                Message.created_at <= mailbox_cutoff,
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
    return [(int(t), int(c)) for t, c in mailboxes], [(int(t), int(o)) for t, o in items]


def sweep_if_due(ctx: WorkerContext) -> SweepReport | None:
    """Sweep unless another worker process did less than ``sweep_interval`` ago.

    The lock is never released: it expires a little before the next interval, so the
    cluster sweeps about once an interval, and a dead sweeper is replaced within one.
    """
    if ctx.leases.acquire(SWEEP_LOCK, ctx.config.sweep_interval * 0.9) is None:
        return None
    return sweep(ctx)


class SweepLoop:
    """A worker process's background sweeper thread (stops with the context's shutdown)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def start(self) -> SweepLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = self.ctx.config.sweep_interval
        wait = random.uniform(0, interval)  # workers started together do not tick together
        while not self._stop.wait(wait) and not self.ctx.shutdown.is_set():
            try:
                report = sweep_if_due(self.ctx)
                if report is not None and (report.drains or report.sends):
                    log.info("sweeper woke %d mailboxes and %d sends", report.drains, report.sends)
            except Exception as exc:  # the database or Redis is away: try again next time
                log.warning("sweep failed: %s", type(exc).__name__)
            wait = interval
