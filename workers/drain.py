"""Draining a conversation's mailbox: one holder at a time, every pending message in one turn.

The drain takes the conversation's lease (renewed in the background, fenced in the
database), waits out the debounce so a burst becomes one turn, runs the turn, commits it
with :func:`workers.mailbox.commit_turn`, and repeats until the mailbox is empty. After it
releases the lease it looks once more, so a message that arrived while a wake-up found the
lease busy is not stranded.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from store.models import utcnow
from workers import mailbox
from workers.context import WorkerContext
from workers.errors import RetryTurnLater
from workers.fairness import Permit
from workers.lease import Lease, LeaseKeeper
from workers.turns import Turn, TurnResult, turn_id_for

log = logging.getLogger(__name__)

DrainStatus = Literal["drained", "busy", "deferred", "retry", "lost", "shutdown"]


@dataclass(frozen=True)
class DrainReport:
    status: DrainStatus
    turns: int = 0
    retry_in: float | None = None


def lease_key(conversation_id: int) -> str:
    return f"conv:{conversation_id}"


def drain(ctx: WorkerContext, tenant_id: int, conversation_id: int) -> DrainReport:
    """Run every pending turn of the conversation, unless another worker already is.

    ``deferred`` and ``retry`` reports carry ``retry_in``; the caller re-enqueues the drain
    (:func:`drain_and_reschedule`).
    """
    turns = 0
    for _ in range(3):
        lease = ctx.leases.acquire(lease_key(conversation_id), ctx.config.lease_ttl)
        if lease is None:
            return DrainReport("busy", turns)
        keeper = ctx.keeper
        assert keeper is not None
        try:
            report = _drain_held(ctx, keeper, lease, tenant_id, conversation_id)
        finally:
            keeper.untrack(lease)
            try:
                ctx.leases.release(lease)
            except Exception as exc:  # it expires on its own
                log.warning("lease release failed: %s", type(exc).__name__)
        turns += report.turns
        if (
            report.status != "drained"
            or mailbox.newest_pending_at(ctx.db, tenant_id, conversation_id) is None
        ):
            return replace(report, turns=turns)
    ctx.enqueue.drain(tenant_id, conversation_id)
    return DrainReport("drained", turns)


def drain_and_reschedule(ctx: WorkerContext, tenant_id: int, conversation_id: int) -> DrainReport:
    """:func:`drain`, then ask for a later drain when it was deferred, retried or shut down."""
    report = drain(ctx, tenant_id, conversation_id)
    if report.status in ("deferred", "retry"):
        delay = (report.retry_in or 1.0) * random.uniform(1.0, 1.3)
        ctx.enqueue.drain(tenant_id, conversation_id, countdown=delay)
    elif report.status == "shutdown":
        ctx.enqueue.drain(tenant_id, conversation_id)
    return report


def _register(
    ctx: WorkerContext, keeper: LeaseKeeper, lease: Lease, tenant_id: int, cid: int
) -> Lease | None:
    seen = mailbox.register_fence(ctx.db, tenant_id, cid, lease.fence)
    if seen is None:
        return lease
    log.warning("lease fence %d below the database's %d; advancing", lease.fence, seen)
    advanced = ctx.leases.advance(lease, seen)
    if advanced is None:
        return None
    keeper.update(lease, advanced)
    if mailbox.register_fence(ctx.db, tenant_id, cid, advanced.fence) is not None:
        return None
    return advanced


def _debounce(ctx: WorkerContext, tenant_id: int, cid: int) -> bool:
    """Wait until the newest pending message is ``debounce`` old; False when the mailbox is empty."""
    cfg = ctx.config
    give_up_at = time.monotonic() + cfg.max_debounce
    while True:
        newest = mailbox.newest_pending_at(ctx.db, tenant_id, cid)
        if newest is None:
            return False
        age = (utcnow() - newest).total_seconds()
        wait = min(cfg.debounce - age, give_up_at - time.monotonic())
        if wait <= 0 or ctx.shutdown.is_set():
            return True
        ctx.shutdown.wait(wait)


def _drain_held(
    ctx: WorkerContext, keeper: LeaseKeeper, lease: Lease, tenant_id: int, cid: int
) -> DrainReport:
    cfg = ctx.config
    lost = keeper.track(lease, cfg.lease_ttl, time.monotonic() + cfg.max_debounce + cfg.turn_deadline)
    registered = _register(ctx, keeper, lease, tenant_id, cid)
    if registered is None:
        return DrainReport("lost")
    lease = registered
    turns = 0
    while True:
        if ctx.shutdown.is_set():
            has_more = mailbox.newest_pending_at(ctx.db, tenant_id, cid) is not None
            return DrainReport("shutdown" if has_more else "drained", turns)
        if not _debounce(ctx, tenant_id, cid):
            return DrainReport("drained", turns)
        messages = mailbox.pending(ctx.db, tenant_id, cid, cfg.batch_limit)
        if not messages:
            return DrainReport("drained", turns)
        conversation = mailbox.state(ctx.db, tenant_id, cid)
        deadline = time.monotonic() + cfg.turn_deadline
        turn = Turn(
            tenant_id=tenant_id,
            conversation_id=cid,
            turn_id=turn_id_for(cid, messages[0].id),
            epoch=conversation.epoch,
            message_ids=tuple(m.id for m in messages),
            texts=tuple(m.text for m in messages),
            deadline=deadline,
        )
        if conversation.mode != "bot":
            if not mailbox.close_without_reply(ctx.db, turn, lease.fence, "human"):
                return DrainReport("lost", turns)
            continue
        permit = ctx.fairness.try_acquire(tenant_id)
        if not isinstance(permit, Permit):
            ctx.metrics.deferred.labels(str(tenant_id)).inc()
            return DrainReport("deferred", turns, retry_in=permit)
        keeper.track(lease, cfg.lease_ttl, deadline + cfg.lease_ttl)
        try:
            outcome = _run_one(ctx, lease, turn, messages[0].created_at)
        finally:
            ctx.fairness.release(permit)
        if outcome is not None:
            return replace(outcome, turns=turns)
        turns += 1
        if lost.is_set():
            log.info("lease lost after a turn; stopping this drain")
            return DrainReport("lost", turns)


def _run_one(ctx: WorkerContext, lease: Lease, turn: Turn, oldest_at: datetime) -> DrainReport | None:
    """Run and commit one turn; None to go on draining, else the report to stop with."""
    cfg, tenant = ctx.config, str(turn.tenant_id)
    attempt = mailbox.start_turn(ctx.db, turn, lease.fence)
    if attempt is None:
        return DrainReport("lost")
    if attempt > cfg.max_turn_attempts:
        ctx.metrics.failures.labels(tenant, "turn_gave_up").inc()
        ctx.metrics.handoffs.labels(tenant).inc()
        closed = mailbox.close_without_reply(
            ctx.db,
            turn,
            lease.fence,
            "failed",
            handoff=True,
            handoff_summary="The assistant could not answer.",
        )
        return None if closed else DrainReport("lost")
    turn = replace(turn, attempt=attempt)
    try:
        with ctx.metrics.turn_running(turn.tenant_id):
            result: TurnResult = ctx.runner.run_turn(turn)
    except RetryTurnLater as exc:
        ctx.fairness.penalize(turn.tenant_id, exc.retry_after)
        ctx.metrics.failures.labels(tenant, "provider_rate_limited").inc()
        mailbox.note_turn_error(ctx.db, turn, lease.fence, "rate_limited", count=False)
        return DrainReport("retry", retry_in=exc.retry_after)
    except Exception as exc:
        ctx.metrics.failures.labels(tenant, "turn_error").inc()
        log.warning("turn %s attempt %d failed: %s", turn.turn_id, attempt, type(exc).__name__)
        mailbox.note_turn_error(ctx.db, turn, lease.fence, type(exc).__name__)
        return DrainReport("retry", retry_in=min(60.0, 2.0**attempt))
    committed = mailbox.commit_turn(ctx.db, turn, lease.fence, result)
    ctx.metrics.turns.labels(tenant, committed.status).inc()
    if committed.status == "lost":
        return DrainReport("lost")
    if committed.status == "handoff":
        ctx.metrics.handoffs.labels(tenant).inc()
    if committed.outbox_id is not None:
        ctx.metrics.reply_seconds.labels(tenant).observe((utcnow() - oldest_at).total_seconds())
        ctx.enqueue.send(turn.tenant_id, committed.outbox_id)
    return None
