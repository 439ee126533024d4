"""The mailbox and the drain, called directly (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from agent.llm.hosts import HostRefused
from errors import RetryLater
from store.models import ConsentEvent, Conversation, Message, OutboxItem, TurnRow, utcnow
from store.sealed import unseal
from tests.workers.conftest import World, make_ctx, pump
from workers import mailbox
from workers.drain import drain, drain_and_reschedule
from workers.outbox import send_item
from workers.takeover import hand_back, take_over
from workers.testing import FailingRunner, HandoffRunner, SimulatedRunner, simulated_reply
from workers.turns import OpenedTurn, TurnResult, turn_id_for


def append(world: World, cid: int, wa_id: str, text: str = "hola") -> mailbox.Appended:
    return mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id=wa_id, text=text)


def outbox_rows(world: World, cid: int) -> list[OutboxItem]:
    with world.db.tenant_session(world.tenant_id) as session:
        return list(session.scalars(select(OutboxItem).where(OutboxItem.conversation_id == cid)))


def test_duplicate_inbound_message_is_stored_once_and_answered_once(world: World) -> None:
    cid = world.conversation()
    first = append(world, cid, "wamid.A")
    again = append(world, cid, "wamid.A")
    assert not first.duplicate and again.duplicate and again.message_id == first.message_id
    assert [m.id for m in mailbox.pending(world.db, world.tenant_id, cid)] == [first.message_id]
    world.ctx.enqueue.drain(world.tenant_id, cid)
    world.ctx.enqueue.drain(world.tenant_id, cid)  # the webhook was delivered twice
    pump(world.ctx)
    assert len(world.sender.sent) == 1
    assert world.sender.sent[0].idempotency_key == f"reply:{turn_id_for(cid, first.message_id)}"


def test_burst_of_five_becomes_one_turn(any_db: Any, make_tenant: Any) -> None:
    tenant_id = make_tenant(any_db, "burst")
    runner = SimulatedRunner()
    ctx = make_ctx(any_db, runner=runner, debounce=0.4)
    world = World(any_db, tenant_id, ctx, runner, ctx.sender, ctx.enqueue)  # type: ignore[arg-type]
    cid = world.conversation()
    for i in range(5):
        append(world, cid, f"wamid.{i}", f"part {i}")
        time.sleep(0.05)
    report = drain(ctx, tenant_id, cid)
    assert report.status == "drained" and report.turns == 1
    assert len(runner.calls) == 1 and runner.calls[0].texts == tuple(f"part {i}" for i in range(5))
    pump(ctx)
    assert [s.text for s in world.sender.sent] == [simulated_reply(runner.calls[0])]
    assert mailbox.pending(any_db, tenant_id, cid) == []
    ctx.close()


def test_messages_during_a_turn_become_the_next_turn(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1", "first")

    class AppendingRunner(SimulatedRunner):
        def run_turn(self, turn: OpenedTurn) -> TurnResult:
            if len(self.calls) == 0:
                append(world, cid, "wamid.2", "second")
            return super().run_turn(turn)

    world.ctx.runner = runner = AppendingRunner()
    assert drain(world.ctx, world.tenant_id, cid).turns == 2
    assert [c.texts for c in runner.calls] == [("first",), ("second",)]


def test_human_mode_consumes_messages_without_a_reply(world: World) -> None:
    cid = world.conversation()
    change = take_over(world.db, world.tenant_id, cid, None)
    assert change.mode == "human" and change.epoch == 1
    append(world, cid, "wamid.1")
    assert drain(world.ctx, world.tenant_id, cid).status == "drained"
    assert world.runner.calls == [] and outbox_rows(world, cid) == []
    assert mailbox.pending(world.db, world.tenant_id, cid) == []
    back = hand_back(world.db, world.tenant_id, cid, None)
    assert back.mode == "bot" and back.epoch == 2
    append(world, cid, "wamid.2", "back to the bot")
    drain(world.ctx, world.tenant_id, cid)
    assert [c.texts for c in world.runner.calls] == [("back to the bot",)]


def test_stale_lease_holder_cannot_write(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    opened = mailbox.open_turn(world.db, world.tenant_id, cid, 7)
    assert opened.turn is not None and opened.turn.attempt == 1
    turn = opened.turn
    # the lease expired; a newer holder opened the conversation with fence 8
    assert mailbox.open_turn(world.db, world.tenant_id, cid, 8).turn is not None
    assert mailbox.open_turn(world.db, world.tenant_id, cid, 7).seen_fence == 8
    assert mailbox.commit_turn(world.db, turn, 7, TurnResult(reply="stale")).status == "lost"
    assert outbox_rows(world, cid) == []
    committed = mailbox.commit_turn(world.db, turn, 8, TurnResult(reply="fresh"))
    assert committed.status == "replied" and len(outbox_rows(world, cid)) == 1
    # a second commit of the same turn finds its messages consumed: nothing doubled
    assert mailbox.commit_turn(world.db, turn, 8, TurnResult(reply="again")).status == "lost"
    assert len(outbox_rows(world, cid)) == 1


def test_a_committed_reply_leaves_the_outbox_the_turn_and_the_disclosure(world: World) -> None:
    """What commit_turn writes for a reply (one statement on PostgreSQL, several on SQLite)."""
    cid = world.conversation()
    append(world, cid, "wamid.1")
    opened = mailbox.open_turn(world.db, world.tenant_id, cid, 3)
    assert opened.turn is not None
    append(world, cid, "wamid.2", "meanwhile")
    until = utcnow() + timedelta(seconds=12)
    result = TurnResult(reply="¡Hola!", disclosure="Soy un asistente de IA.", language="es")
    claim_for = mailbox.ClaimFor("34600000001", until, opened.oldest_at)
    committed = mailbox.commit_turn(world.db, opened.turn, 3, result, claim_for=claim_for)
    assert committed.status == "replied" and committed.has_more
    assert committed.claim is not None and (committed.claim.text, committed.claim.attempts) == ("¡Hola!", 1)
    [item] = outbox_rows(world, cid)
    assert (item.id, item.status, item.attempts, item.author, item.kind) == (
        committed.outbox_id,
        "sending",
        1,
        "bot",
        "text",
    )
    assert item.idempotency_key == mailbox.reply_key(opened.turn.turn_id) and item.next_attempt_at
    with world.db.tenant_session(world.tenant_id) as session:
        turn = session.get(TurnRow, opened.turn.turn_id)
        assert turn is not None and turn.status == "replied" and turn.finished_at is not None
        consent = session.scalars(select(ConsentEvent).where(ConsentEvent.conversation_id == cid)).one()
        assert (consent.kind, consent.wording, consent.language) == (
            "disclosure",
            "Soy un asistente de IA.",
            "es",
        )
    assert [m.text for m in mailbox.pending(world.db, world.tenant_id, cid)] == ["meanwhile"]
    alone = mailbox.open_turn(world.db, world.tenant_id, cid, 3).turn
    assert alone is not None
    quiet = mailbox.commit_turn(world.db, alone, 3, TurnResult(reply="¿Algo más?"))
    assert quiet.status == "replied" and not quiet.has_more and quiet.claim is None
    assert {i.status for i in outbox_rows(world, cid)} == {"sending", "pending"}


def test_takeover_during_a_run_drops_the_reply(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")

    class TakeoverRunner:
        def run_turn(self, turn: OpenedTurn) -> TurnResult:
            take_over(world.db, world.tenant_id, cid, None)
            return TurnResult(reply="too late")

    world.ctx.runner = TakeoverRunner()
    drain(world.ctx, world.tenant_id, cid)
    assert outbox_rows(world, cid) == []
    assert mailbox.pending(world.db, world.tenant_id, cid) == []
    with world.db.tenant_session(world.tenant_id) as session:
        assert session.scalar(select(TurnRow.status)) == "preempted"


def test_handoff_turns_the_conversation_over_and_sends_the_notice(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1", "I want a person")
    world.ctx.runner = HandoffRunner()
    world.ctx.enqueue.drain(world.tenant_id, cid)
    pump(world.ctx)
    state = mailbox.state(world.db, world.tenant_id, cid)
    assert (state.mode, state.epoch) == ("human", 1)
    assert [s.text for s in world.sender.sent] == ["A person will answer you shortly."]
    assert world.ctx.metrics.value("frontdesk_handoffs_total", tenant=str(world.tenant_id)) == 1
    with world.db.tenant_session(world.tenant_id) as session:
        turn = session.scalar(select(TurnRow))
        assert turn is not None and turn.status == "handoff" and turn.handoff_summary_ciphertext
        assert "person" not in turn.handoff_summary_ciphertext  # sealed, to this row
        assert unseal(world.db.keyring, turn, "handoff_summary_ciphertext") == "customer asks for a person"


def test_failing_turn_is_retried_then_handed_to_a_human(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    world.ctx.runner = runner = FailingRunner()
    for attempt in range(1, 4):
        report = drain_and_reschedule(world.ctx, world.tenant_id, cid)
        assert report.status == "retry" and runner.calls == attempt
    assert len(world.enqueue.drains) == 3 and all(d[2] > 0 for d in world.enqueue.drains)
    assert mailbox.pending(world.db, world.tenant_id, cid) != []
    assert drain(world.ctx, world.tenant_id, cid).status == "drained"  # 4th: gives up
    assert runner.calls == 3
    assert mailbox.state(world.db, world.tenant_id, cid).mode == "human"
    assert mailbox.pending(world.db, world.tenant_id, cid) == []


def test_a_user_error_is_handed_to_a_human_at_once_with_its_reason(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    world.ctx.runner = runner = FailingRunner(HostRefused("provider host 10.0.0.5 is not allowed"))
    report = drain_and_reschedule(world.ctx, world.tenant_id, cid)
    assert report.status == "drained" and runner.calls == 1  # never retried
    assert world.enqueue.drains == []
    assert mailbox.state(world.db, world.tenant_id, cid).mode == "human"
    assert mailbox.pending(world.db, world.tenant_id, cid) == []
    with world.db.tenant_session(world.tenant_id) as session:
        turn = session.scalars(select(TurnRow)).one()
        assert turn.last_error == "HostRefused: provider host 10.0.0.5 is not allowed"


def test_provider_429_slows_only_that_tenant(world: World, make_tenant: Any) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    world.ctx.runner = FailingRunner(
        RetryLater(30, reason="provider rate-limited the tenant (429)"), failures=1
    )
    report = drain(world.ctx, world.tenant_id, cid)
    assert report.status == "retry" and report.retry_in == 30
    assert drain(world.ctx, world.tenant_id, cid).status == "deferred"  # cooling down
    other = make_tenant(world.db, "other")
    wait = world.ctx.fairness.try_acquire(world.tenant_id)
    assert isinstance(wait, float) and 25 < wait <= 30
    assert not isinstance(world.ctx.fairness.try_acquire(other), float)
    with world.db.tenant_session(world.tenant_id) as session:
        assert session.scalar(select(TurnRow.attempts)) == 0  # a 429 uses up no attempt


def test_drain_when_lease_is_held_leaves_the_work_to_the_holder(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    lease = world.ctx.leases.acquire(f"conv:{cid}", 5)
    assert lease is not None
    assert drain(world.ctx, world.tenant_id, cid).status == "busy"
    world.ctx.leases.release(lease)
    assert drain(world.ctx, world.tenant_id, cid).turns == 1


def test_conversation_row_keeps_mode_epoch_and_fence(world: World) -> None:
    cid = world.conversation()
    append(world, cid, "wamid.1")
    drain(world.ctx, world.tenant_id, cid)
    with world.db.tenant_session(world.tenant_id) as session:
        conv = session.get(Conversation, cid)
        assert conv is not None and conv.mode == "bot" and conv.epoch == 0 and conv.lease_fence >= 1
        message = session.scalar(select(Message).where(Message.wa_message_id == "wamid.1"))
        assert message is not None and message.turn_id == turn_id_for(cid, message.id)
    item = outbox_rows(world, cid)[0]
    assert send_item(world.db, world.sender, world.tenant_id, item.id).status == "sent"
    assert send_item(world.db, world.sender, world.tenant_id, item.id).status == "skipped"
    assert len(world.sender.sent) == 1


def test_a_new_message_touches_its_conversation_and_a_repeated_one_does_not(world: World) -> None:
    cid = world.conversation()
    first, later = datetime(2026, 1, 5, 9, 30, tzinfo=UTC), datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    stored = mailbox.append_inbound(
        world.db, world.tenant_id, cid, wa_message_id="wamid.T", text="hola", received_at=first
    )
    again = mailbox.append_inbound(
        world.db, world.tenant_id, cid, wa_message_id="wamid.T", text="otra", received_at=later
    )
    assert again.duplicate and again.message_id == stored.message_id
    with world.db.tenant_session(world.tenant_id) as session:
        conversation = session.get_one(Conversation, cid)
        assert conversation.last_customer_message_at == first and conversation.updated_at == first
        message = session.get_one(Message, stored.message_id)
        assert message.created_at == first and unseal(world.db.keyring, message, "body_ciphertext") == "hola"


def test_at_its_cap_a_conversation_parks_until_a_slot_is_released(any_db: Any, make_tenant: Any) -> None:
    from tests.workers.conftest import make_conversations
    from workers.fairness import FairnessPolicy, Permit
    from workers.testing import ListEnqueuer

    tenant = make_tenant(any_db, "capped")
    ctx = make_ctx(any_db, fairness=FairnessPolicy(tenant_concurrency=1, tenant_rate=1e6, tenant_burst=1e6))
    enqueue = ctx.enqueue
    assert isinstance(enqueue, ListEnqueuer)
    first, second, third = make_conversations(any_db, tenant, 3)
    for n, cid in enumerate((first, second, third)):
        mailbox.append_inbound(any_db, tenant, cid, wa_message_id=f"wamid.c{n}", text="hi")
    held = ctx.fairness.try_acquire(tenant)
    assert isinstance(held, Permit)
    assert drain_and_reschedule(ctx, tenant, second).status == "parked"
    assert drain_and_reschedule(ctx, tenant, third).status == "parked"
    assert enqueue.drains == []  # parked conversations are not polled
    assert ctx.fairness.release(held) == second  # a released slot goes to the longest parked
    assert drain(ctx, tenant, second).turns == 1
    assert [cid for _, cid, _ in enqueue.drains] == [third]  # and its release wakes the next
    enqueue.drains.clear()
    assert drain(ctx, tenant, third).turns == 1 and enqueue.drains == []
    assert drain(ctx, tenant, first).turns == 1
    ctx.close()


def test_the_drain_makes_the_first_send_attempt_itself(any_db: Any, make_tenant: Any) -> None:
    from tests.workers.conftest import make_conversations
    from workers.testing import ListEnqueuer, RecordingSender, rate_limited

    tenant = make_tenant(any_db, "inline")
    sender = RecordingSender()
    ctx = make_ctx(any_db, sender=sender, inline_first_send=True)
    enqueue = ctx.enqueue
    assert isinstance(enqueue, ListEnqueuer)
    first, second = make_conversations(any_db, tenant, 2)
    mailbox.append_inbound(any_db, tenant, first, wa_message_id="wamid.i1", text="hi")
    assert drain(ctx, tenant, first).turns == 1
    assert [s.conversation_id for s in sender.sent] == [first] and enqueue.take_sends() == []
    sender.fail_with.append(rate_limited(2.0))  # a failed first attempt goes to the send task
    mailbox.append_inbound(any_db, tenant, second, wa_message_id="wamid.i2", text="hi")
    assert drain(ctx, tenant, second).turns == 1
    ((_, _, countdown),) = enqueue.take_sends()
    assert countdown >= 2.0 and len(sender.sent) == 1
    ctx.close()


def test_the_inline_reply_is_committed_claimed_unless_pacing_asks_to_wait(
    any_db: Any, make_tenant: Any
) -> None:
    from tests.workers.conftest import make_conversations
    from workers.fairness import FairnessPolicy
    from workers.testing import ListEnqueuer, RecordingSender

    tenant = make_tenant(any_db, "paced")
    sender = RecordingSender()
    policy = FairnessPolicy(
        tenant_concurrency=1000, tenant_rate=1e6, tenant_burst=1e6, number_rate=0.5, number_burst=1
    )
    ctx = make_ctx(any_db, sender=sender, inline_first_send=True, fairness=policy)
    enqueue = ctx.enqueue
    assert isinstance(enqueue, ListEnqueuer)
    first, second = make_conversations(any_db, tenant, 2)
    for n, cid in enumerate((first, second)):
        mailbox.append_inbound(any_db, tenant, cid, wa_message_id=f"wamid.p{n}", text="hola")
        assert drain(ctx, tenant, cid).turns == 1
    with any_db.tenant_session(tenant) as session:
        items = {i.conversation_id: (i.status, i.attempts) for i in session.scalars(select(OutboxItem))}
    # the first went out inline on its one claim; the second waits for the number's pacing
    assert items == {first: ("sent", 1), second: ("pending", 0)}
    assert [s.conversation_id for s in sender.sent] == [first]
    ((_, outbox_id, countdown),) = enqueue.take_sends()
    assert 1.0 <= countdown <= 2.5
    assert send_item(any_db, sender, tenant, outbox_id).status == "sent"
    ctx.close()


def test_a_drain_the_database_refuses_is_retried_shortly_and_holds_nothing(
    world: World, monkeypatch: Any
) -> None:
    from sqlalchemy.exc import OperationalError

    cid = world.conversation()
    append(world, cid, "wamid.db1")

    def refuse(*_: Any, **__: Any) -> Any:
        raise OperationalError("connect", {}, Exception("too many clients already"))

    monkeypatch.setattr(mailbox, "open_turn", refuse)
    report = drain_and_reschedule(world.ctx, world.tenant_id, cid)
    assert report.status == "retry"
    ((_, again, countdown),) = world.enqueue.drains
    assert again == cid and 1.0 <= countdown <= 1.3
    assert not world.ctx.leases.is_held(f"conv:{cid}")  # the lease was given back
    monkeypatch.undo()
    assert drain(world.ctx, world.tenant_id, cid).turns == 1


def test_with_redis_one_script_starts_a_drain_and_keeps_cap_parking_and_slots(
    sqlite_db: Any, make_tenant: Any, redis_client: Any, redis_prefix: str
) -> None:
    """Leases and fairness in one Redis: the drain starts with one script (cap, lease, slot)."""
    from tests.workers.conftest import make_conversations
    from workers.drain import lease_key
    from workers.fairness import FairnessPolicy, Permit, RedisFairness
    from workers.lease import LeaseKeeper, RedisLeases
    from workers.testing import ListEnqueuer

    tenant = make_tenant(sqlite_db, "redis-capped")
    policy = FairnessPolicy(tenant_concurrency=1, tenant_rate=1e6, tenant_burst=1e6)
    ctx = make_ctx(sqlite_db, fairness=policy)
    ctx.close()
    leases = RedisLeases(redis_client, redis_prefix)
    fairness = RedisFairness(redis_client, policy, redis_prefix)
    ctx.leases, ctx.fairness = leases, fairness
    ctx.keeper = LeaseKeeper(leases, interval=1.0)
    enqueue = ctx.enqueue
    assert isinstance(enqueue, ListEnqueuer)
    first, second, third = make_conversations(sqlite_db, tenant, 3)
    for n, cid in enumerate((first, second, third)):
        mailbox.append_inbound(sqlite_db, tenant, cid, wa_message_id=f"wamid.r{n}", text="hi")
    held = fairness.try_acquire(tenant)
    assert isinstance(held, Permit)
    assert drain_and_reschedule(ctx, tenant, second).status == "parked"
    assert drain_and_reschedule(ctx, tenant, third).status == "parked"
    assert not leases.is_held(lease_key(second)) and enqueue.drains == []  # no lease, no polling
    assert fairness.release(held) == second
    assert drain(ctx, tenant, second).turns == 1
    assert [cid for _, cid, _ in enqueue.drains] == [third]  # its release wakes the next
    enqueue.drains.clear()
    assert fairness.in_flight(tenant) == 0 and not leases.is_held(lease_key(second))
    ctx.shutdown.set()  # the slot taken with the lease is given back when the drain stops at once
    assert drain(ctx, tenant, third).status == "shutdown"
    assert fairness.in_flight(tenant) == 0 and not leases.is_held(lease_key(third))
    ctx.shutdown.clear()
    assert drain(ctx, tenant, third).turns == 1 and drain(ctx, tenant, first).turns == 1
    assert fairness.in_flight(tenant) == 0 and enqueue.drains == []
    ctx.close()
