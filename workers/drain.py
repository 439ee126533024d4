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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from sqlalchemy.exc import OperationalError

from errors import RetryLater, UserError
from store.models import utcnow
from workers import handoffs, mailbox
from workers.context import WorkerContext
from workers.events import ConsoleEvent
from workers.fairness import AT_CAPACITY, AtCapacity, Permit, RedisFairness
from workers.lease import Lease, LeaseKeeper, RedisLeases
from workers.mailbox import ClaimFor, Committed, Opened, Recipient
from workers.sending import send_once
from workers.turns import OpenedTurn, TurnResult

log = logging.getLogger(__name__)

DrainStatus = Literal["drained", "busy", "deferred", "parked", "retry", "lost", "shutdown"]


@dataclass(frozen=True)
class DrainReport:
    status: DrainStatus
    turns: int = 0
    retry_in: float | None = None


DATABASE_RETRY = 1.0
"""Seconds before a drain that the database refused runs again (jittered)."""


def lease_key(conversation_id: int) -> str:
    return f"conv:{conversation_id}"


def drain(ctx: WorkerContext, tenant_id: int, conversation_id: int) -> DrainReport:
    """Run every pending turn of the conversation, unless another worker already is.

    ``deferred`` and ``retry`` reports carry ``retry_in``; the caller re-enqueues the drain
    (:func:`drain_and_reschedule`). ``parked``: the tenant is at its cap, and the next slot
    it releases wakes this conversation (no polling wake-ups).
    """
    begun = _begin(ctx, tenant_id, conversation_id)
    if isinstance(begun, AtCapacity):  # the cheap way out of a flooding tenant's backlog
        return _park(ctx, tenant_id, conversation_id, 0)
    lease, first = begun
    turns = 0
    for attempt in range(3):
        if attempt > 0:
            lease, first = ctx.leases.acquire(lease_key(conversation_id), ctx.config.lease_ttl), None
        if lease is None:
            return DrainReport("busy", turns)
        keeper = ctx.keeper
        assert keeper is not None
        knocked = True
        try:
            report = _drain_held(ctx, keeper, lease, tenant_id, conversation_id, first)
        finally:
            keeper.untrack(lease)
            try:
                knocked = ctx.leases.release(lease)
            except Exception as exc:  # it expires on its own
                log.warning("lease release failed: %s", type(exc).__name__)
        turns += report.turns
        if report.status != "drained" or not knocked:
            return replace(report, turns=turns)
        if mailbox.newest_pending_at(ctx.db, tenant_id, conversation_id) is None:
            return replace(report, turns=turns)
    ctx.enqueue.drain(tenant_id, conversation_id)
    return DrainReport("drained", turns)


def _begin(
    ctx: WorkerContext, tenant_id: int, conversation_id: int
) -> tuple[Lease | None, Permit | float | None] | AtCapacity:
    """The tenant's cap check, the conversation's lease and (with Redis) the first turn's slot.

    ``AtCapacity``: nothing was taken. Else the lease (None: held by another drain) and the
    first slot's answer, or None when the first turn asks :meth:`Fairness.try_acquire` itself.
    With leases and fairness in the same Redis, one script does all three in one trip.
    """
    key, ttl = lease_key(conversation_id), ctx.config.lease_ttl
    fairness, leases = ctx.fairness, ctx.leases
    if (
        isinstance(fairness, RedisFairness)
        and isinstance(leases, RedisLeases)
        and fairness.client is leases.client
    ):
        return fairness.lease_and_slot(leases, tenant_id, key, ttl)
    if fairness.at_capacity(tenant_id):
        return AT_CAPACITY
    return leases.acquire(key, ttl), None


def drain_and_reschedule(ctx: WorkerContext, tenant_id: int, conversation_id: int) -> DrainReport:
    """:func:`drain`, then ask for a later drain when it was deferred, retried or shut down.

    When the database refuses (restarting, out of connections), the drain is retried in a
    moment; leases and slots were given back on the way out, and a turn is idempotent.
    """
    try:
        report = drain(ctx, tenant_id, conversation_id)
    except OperationalError as exc:
        log.warning("drain: the database refused (%s); retrying shortly", type(exc.orig).__name__)
        ctx.metrics.failures.labels(str(tenant_id), "database").inc()
        report = DrainReport("retry", retry_in=DATABASE_RETRY)
    if report.status in ("deferred", "retry"):
        delay = (report.retry_in or 1.0) * random.uniform(1.0, 1.3)
        ctx.enqueue.drain(tenant_id, conversation_id, countdown=delay)
    elif report.status == "shutdown":
        ctx.enqueue.drain(tenant_id, conversation_id)
    return report


def _advance(ctx: WorkerContext, keeper: LeaseKeeper, lease: Lease, seen: int) -> Lease | None:
    """The database saw a larger fence than ours. If we still hold the lease (the token
    matches), nobody took it since we did, so the counter was reset: take one above it."""
    log.warning("lease fence %d below the database's %d; advancing", lease.fence, seen)
    advanced = ctx.leases.advance(lease, seen)
    if advanced is not None:
        keeper.update(lease, advanced)
    return advanced


def _drain_held(
    ctx: WorkerContext,
    keeper: LeaseKeeper,
    lease: Lease,
    tenant_id: int,
    cid: int,
    first: Permit | float | None = None,
) -> DrainReport:
    """``first``: the first turn's slot (or wait), taken with the lease (:func:`_begin`)."""
    cfg = ctx.config
    lost = keeper.track(lease, cfg.lease_ttl, time.monotonic() + cfg.max_debounce + cfg.turn_deadline)
    settle_until = time.monotonic() + cfg.max_debounce
    turns, advanced = 0, False
    sends: list[Committed] = []
    while True:
        if ctx.shutdown.is_set() or lost.is_set():
            if isinstance(first, Permit):  # taken with the lease, unused: give it back
                _hand_on(ctx, first, cid, used=False)
            if not ctx.shutdown.is_set():
                return DrainReport("lost", turns)
            has_more = mailbox.newest_pending_at(ctx.db, tenant_id, cid) is not None
            return DrainReport("shutdown" if has_more else "drained", turns)
        permit = ctx.fairness.try_acquire(tenant_id) if first is None else first
        first = None
        if not isinstance(permit, Permit):
            if mailbox.newest_pending_at(ctx.db, tenant_id, cid) is None:
                return DrainReport("drained", turns)
            if isinstance(permit, AtCapacity):
                return _park(ctx, tenant_id, cid, turns)
            ctx.metrics.deferred.labels(str(tenant_id)).inc()
            return DrainReport("deferred", turns, retry_in=permit)
        ctx.permits.add(permit)
        used = False
        try:
            deadline = time.monotonic() + cfg.turn_deadline
            settle = cfg.debounce if time.monotonic() < settle_until else 0.0
            opened = mailbox.open_turn(
                ctx.db, tenant_id, cid, lease.fence, settle=settle, limit=cfg.batch_limit, deadline=deadline
            )
            if opened.seen_fence is not None:
                next_lease = None if advanced else _advance(ctx, keeper, lease, opened.seen_fence)
                if next_lease is None:
                    return DrainReport("lost", turns)
                lease, advanced = next_lease, True
                continue
            if opened.wait > 0:
                ctx.shutdown.wait(opened.wait)
                continue
            turn = opened.turn
            if turn is None:
                return DrainReport("drained", turns)
            if opened.mode != "bot":
                if not mailbox.close_without_reply(ctx.db, turn, lease.fence, "human"):
                    return DrainReport("lost", turns)
                continue
            used = True
            keeper.track(lease, cfg.lease_ttl, deadline + cfg.lease_ttl)
            outcome = _run_one(ctx, lease, opened, turn, sends)
        finally:
            _hand_on(ctx, permit, cid, used=used)
        while sends:  # the reply's first attempt, in this thread (after the slot is free)
            send_first(ctx, tenant_id, sends.pop(0))
        if isinstance(outcome, DrainReport):
            return replace(outcome, turns=turns)
        turns += 1
        if not outcome:
            return DrainReport("drained", turns)


def _park(ctx: WorkerContext, tenant_id: int, cid: int, turns: int) -> DrainReport:
    """Wait for a slot of the tenant: the next release wakes the longest-parked conversation.

    A slot released between the cap check and the parking found nobody to wake, so look
    again: if a slot is free now, wake the longest-parked conversation (maybe this one).
    """
    ctx.metrics.deferred.labels(str(tenant_id)).inc()
    ctx.fairness.park(tenant_id, cid)
    if not ctx.fairness.at_capacity(tenant_id):
        _wake_next(ctx, tenant_id, None, partial(ctx.fairness.unpark, tenant_id))
    return DrainReport("parked", turns)


def _hand_on(ctx: WorkerContext, permit: Permit, cid: int, *, used: bool) -> None:
    """Free the tenant's slot; it goes to the conversation parked longest."""
    ctx.permits.discard(permit)
    _wake_next(ctx, permit.tenant_id, cid, partial(ctx.fairness.release, permit, used=used))


def _wake_next(ctx: WorkerContext, tenant_id: int, cid: int | None, pop: Callable[[], int | None]) -> None:
    """Wake the conversation that ``pop`` takes off the tenant's parking (unless it is ``cid``)."""
    try:
        parked = pop()
    except Exception as exc:  # slots expire on their own; a parked conversation's wake-up still comes
        log.warning("waking a parked conversation failed: %s", type(exc).__name__)
        return
    if parked is not None and parked != cid:
        ctx.enqueue.drain(tenant_id, parked)


def send_first(ctx: WorkerContext, tenant_id: int, committed: Committed) -> None:
    """A committed reply's first attempt: inline (``inline_first_send``), else a send task.

    Inline saves a broker round trip per reply. The reply was committed already claimed
    (:func:`_claim_for`: the commit held the conversation's row lock and checked epoch and
    mode, as a claim does) unless pacing asked to wait; retries go through the send task.
    """
    outbox_id = committed.outbox_id
    assert outbox_id is not None
    if not ctx.config.inline_first_send:
        ctx.enqueue.send(tenant_id, outbox_id)
        return
    try:
        send_once(ctx, tenant_id, outbox_id, committed.claim)
    except Exception as exc:  # the send task tries again once the claim expires
        log.warning("inline send failed: %s", type(exc).__name__)
        ctx.enqueue.send(tenant_id, outbox_id)


def _claim_for(
    ctx: WorkerContext,
    tenant_id: int,
    recipient: Recipient | None,
    result: TurnResult,
    wrote_at: datetime | None = None,
) -> ClaimFor | None:
    """Commit the reply claimed when it will be sent inline right away (pacing allows it)."""
    if not (ctx.config.inline_first_send and result.reply and recipient):
        return None
    if ctx.fairness.admit_send(tenant_id, recipient.channel_id, recipient.pacing_key) > 0:
        return None  # the send task waits for pacing
    until = utcnow() + timedelta(seconds=ctx.config.send.send_timeout)
    return ClaimFor(recipient.wa_id, until, wrote_at)


def _handed_off(ctx: WorkerContext, tenant_id: int, conversation_id: int) -> None:
    """Tell the consoles and the tenant's handoff webhook (neither may fail the drain)."""
    ctx.events.publish(ConsoleEvent(tenant_id, conversation_id, "handoff"))
    try:
        handoffs.notify(ctx.db, tenant_id, conversation_id, allow_loopback=ctx.config.loopback_webhooks)
    except Exception as exc:
        log.warning("handoff webhook for conversation %s not sent (%s)", conversation_id, type(exc).__name__)


RETRY_DEFER = 5.0
"""Seconds before a turn that asked to run later without saying when runs again."""


def _give_up(
    ctx: WorkerContext, lease: Lease, turn: OpenedTurn, reason: str, *, turn_error: str | None = None
) -> DrainReport | bool:
    """Hand the turn to a human without a reply; the run record says why."""
    ctx.metrics.handoffs.labels(str(turn.tenant_id)).inc()
    noted = {"last_error": turn_error[:200]} if turn_error else {}
    closed = mailbox.close_without_reply(
        ctx.db, turn, lease.fence, "failed", handoff=True, handoff_summary=f"Reason: {reason}.", **noted
    )
    if closed:
        _handed_off(ctx, turn.tenant_id, turn.conversation_id)
    return True if closed else DrainReport("lost")


def _later(
    ctx: WorkerContext, lease: Lease, opened: Opened, turn: OpenedTurn, exc: RetryLater
) -> DrainReport | bool:
    """The provider is rate-limiting (or down): slow only this tenant and run the turn again
    after ``defer`` (its Retry-After); hand off once the customer would wait past the deadline."""
    defer = exc.defer if exc.defer is not None else RETRY_DEFER
    reason = exc.reason or "the turn asked to run later"
    ctx.metrics.failures.labels(str(turn.tenant_id), "provider_retry_later").inc()
    waited = (utcnow() - opened.oldest_at).total_seconds() if opened.oldest_at else 0.0
    if waited + defer > ctx.config.retry_deadline:
        error = (
            f"{reason}; handed off after {waited:.0f} s (retry deadline {ctx.config.retry_deadline:.0f} s)"
        )
        return _give_up(ctx, lease, turn, f"{reason}, past the turn's deadline", turn_error=error)
    ctx.fairness.penalize(turn.tenant_id, defer)
    mailbox.note_turn_error(ctx.db, turn, lease.fence, f"{reason}; retrying in {defer:.0f} s", count=False)
    return DrainReport("retry", retry_in=defer)


def _run_one(
    ctx: WorkerContext, lease: Lease, opened: Opened, turn: OpenedTurn, sends: list[Committed]
) -> DrainReport | bool:
    """Run and commit one turn; whether more messages are pending, or the report to stop with."""
    cfg, tenant, attempt = ctx.config, str(turn.tenant_id), turn.attempt
    if attempt > cfg.max_turn_attempts:
        ctx.metrics.failures.labels(tenant, "turn_gave_up").inc()
        return _give_up(ctx, lease, turn, "the assistant could not answer")
    try:
        with ctx.metrics.turn_running(turn.tenant_id):
            result: TurnResult = ctx.runner.run_turn(turn)
    except RetryLater as exc:
        return _later(ctx, lease, opened, turn, exc)
    except UserError as exc:  # the tenant's settings stop the turn: running it again cannot help
        ctx.metrics.failures.labels(tenant, "turn_user_error").inc()
        error = f"{type(exc).__name__}: {exc}"
        return _give_up(ctx, lease, turn, "the tenant's settings stop the assistant", turn_error=error)
    except Exception as exc:
        ctx.metrics.failures.labels(tenant, "turn_error").inc()
        log.warning("turn %s attempt %d failed: %s", turn.turn_id, attempt, type(exc).__name__)
        mailbox.note_turn_error(ctx.db, turn, lease.fence, type(exc).__name__)
        return DrainReport("retry", retry_in=min(60.0, 2.0**attempt))
    claim_for = _claim_for(ctx, turn.tenant_id, opened.recipient, result, opened.oldest_at)
    committed = mailbox.commit_turn(ctx.db, turn, lease.fence, result, claim_for=claim_for)
    ctx.metrics.turns.labels(tenant, committed.status).inc()
    if committed.status == "lost":
        return DrainReport("lost")
    if committed.status == "handoff":
        ctx.metrics.handoffs.labels(tenant).inc()
        _handed_off(ctx, turn.tenant_id, turn.conversation_id)
    elif committed.status == "replied":
        ctx.events.publish(ConsoleEvent(turn.tenant_id, turn.conversation_id, "reply"))
    if committed.outbox_id is not None:
        assert opened.oldest_at is not None
        ctx.metrics.reply_seconds.labels(tenant).observe((utcnow() - opened.oldest_at).total_seconds())
        sends.append(committed)
    return committed.has_more
