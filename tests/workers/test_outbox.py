"""The outbox sender: retries with backoff, permanent failures, epoch re-check, agents' replies."""

from __future__ import annotations

import time

from sqlalchemy import select

from store.models import Message, OutboxItem
from tests.workers.conftest import World, make_ctx
from workers import mailbox
from workers.drain import drain
from workers.outbox import SendPolicy, backoff, enqueue_agent_reply, send_item
from workers.sweeper import sweep
from workers.takeover import take_over
from workers.testing import opted_out, rate_limited


def reply_item(world: World) -> tuple[int, int]:
    cid = world.conversation()
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id=f"wamid.{cid}", text="hi")
    drain(world.ctx, world.tenant_id, cid)
    (send,) = world.enqueue.take_sends()
    return cid, send[1]


def item(world: World, outbox_id: int) -> OutboxItem:
    with world.db.tenant_session(world.tenant_id) as session:
        row = session.get(OutboxItem, outbox_id)
        assert row is not None
        return row


def test_429_is_retried_after_retry_after_then_sent_once(world: World) -> None:
    _, oid = reply_item(world)
    world.sender.fail_with = [rate_limited(2.0)]
    first = send_item(world.db, world.sender, world.tenant_id, oid)
    assert first.status == "retry" and first.retry_in is not None and first.retry_in >= 2.0
    assert send_item(world.db, world.sender, world.tenant_id, oid).status == "retry"  # not due yet
    with world.db.tenant_session(world.tenant_id) as session:
        session.get(OutboxItem, oid).next_attempt_at = None  # type: ignore[union-attr]
    done = send_item(world.db, world.sender, world.tenant_id, oid)
    assert done.status == "sent" and len(world.sender.sent) == 1
    row = item(world, oid)
    assert row.status == "sent" and row.attempts == 2 and row.wa_message_id == done.wa_message_id
    assert send_item(world.db, world.sender, world.tenant_id, oid).status == "skipped"
    with world.db.tenant_session(world.tenant_id) as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).all()
        assert [m.wa_message_id for m in out] == [done.wa_message_id]


def test_permanent_error_and_exhausted_retries_fail(world: World) -> None:
    _, oid = reply_item(world)
    world.sender.fail_with = [opted_out()]
    assert send_item(world.db, world.sender, world.tenant_id, oid).error == "opted_out"
    assert item(world, oid).status == "failed"
    _, oid2 = reply_item(world)
    world.sender.fail_with = [rate_limited(None)]
    outcome = send_item(world.db, world.sender, world.tenant_id, oid2, policy=SendPolicy(max_attempts=1))
    assert outcome.status == "failed" and world.sender.sent == []


def test_backoff_grows_and_honours_retry_after() -> None:
    policy = SendPolicy(base_backoff=1, max_backoff=60)
    assert 0.5 <= backoff(1, policy) <= 1
    assert 4 <= backoff(4, policy) <= 8
    assert backoff(20, policy) <= 60
    assert backoff(1, policy, retry_after=30) == 30


def test_sender_rechecks_the_epoch_before_sending(world: World) -> None:
    cid, oid = reply_item(world)
    change = take_over(world.db, world.tenant_id, cid, None)
    assert change.cancelled_outbox == 1
    assert send_item(world.db, world.sender, world.tenant_id, oid).status == "skipped"
    assert world.sender.sent == []
    key = "agent-reply-1"
    agent_item = enqueue_agent_reply(world.db, world.tenant_id, cid, None, "Hi, Ana here.", key=key)
    assert enqueue_agent_reply(world.db, world.tenant_id, cid, None, "Hi, Ana here.", key=key) == agent_item
    assert send_item(world.db, world.sender, world.tenant_id, agent_item).status == "sent"
    assert [s.text for s in world.sender.sent] == ["Hi, Ana here."]


def test_sweeper_wakes_stranded_mailboxes_and_due_sends(world: World) -> None:
    cid = world.conversation()
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.s1", text="hi")
    assert sweep(world.ctx, min_age=60).drains == 0  # too fresh: its own wake-up is on the way
    lease = world.ctx.leases.acquire(f"conv:{cid}", 5)
    assert lease is not None
    assert sweep(world.ctx, min_age=0).drains == 0  # someone is on it
    world.ctx.leases.release(lease)
    assert sweep(world.ctx, min_age=0).drains == 1
    assert world.enqueue.drains[-1][:2] == (world.tenant_id, cid)
    drain(world.ctx, world.tenant_id, cid)
    world.enqueue.take_sends()  # lose the send wake-up
    assert sweep(world.ctx, min_age=0).sends == 1


def test_the_sweeper_leaves_mailboxes_whose_wake_up_may_still_be_queued(world: World) -> None:
    cid = world.conversation()
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.q1", text="hi")
    world.enqueue.backlog = 60.0  # the turns queue's oldest wake-up has waited a minute
    assert sweep(world.ctx, min_age=0).drains == 0  # its own wake-up is behind that one
    world.enqueue.backlog = 0.0
    assert sweep(world.ctx, min_age=0).drains == 1


def test_every_worker_sweeps_but_one_at_a_time(world: World) -> None:
    from workers.sweeper import sweep_if_due

    cid = world.conversation()
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.s2", text="hi")
    other = make_ctx(world.db, sweep_interval=1.0, sweep_min_age=0.0)
    mine = make_ctx(world.db, sweep_interval=1.0, sweep_min_age=0.0)
    first = sweep_if_due(other)
    assert first is not None and first.drains == 1
    assert sweep_if_due(mine) is None  # the other worker swept moments ago
    time.sleep(1.0)
    again = sweep_if_due(mine)  # its lock expired: this worker sweeps now
    assert again is not None and again.drains == 1
    other.close()
    mine.close()


def test_the_sender_applies_the_24_hour_window_itself(world: World) -> None:
    from datetime import timedelta

    from store.models import Conversation, Tenant, utcnow

    late, lost = reply_item(world), reply_item(world)
    with world.db.admin_session() as session:
        tenant = session.get(Tenant, world.tenant_id)
        assert tenant is not None
        tenant.settings = {
            "default_language": "en",
            "whatsapp_templates": [{"name": "follow_up", "language": "en", "purposes": ["reply"]}],
        }
        for cid, _ in (late, lost):
            conversation = session.get(Conversation, cid)
            assert conversation is not None
            conversation.last_customer_message_at = utcnow() - timedelta(hours=26)
    assert send_item(world.db, world.sender, world.tenant_id, late[1]).status == "sent"
    assert world.sender.sent[-1].template == ("follow_up", "en", ())  # a template, not the text
    with world.db.admin_session() as session:
        tenant = session.get(Tenant, world.tenant_id)
        assert tenant is not None
        tenant.settings = {"default_language": "en", "whatsapp_templates": []}
    outcome = send_item(world.db, world.sender, world.tenant_id, lost[1])
    assert outcome.status == "failed" and outcome.error == "outside_window"
    assert len(world.sender.sent) == 1  # nothing reached the Cloud API
    assert mailbox.state(world.db, world.tenant_id, lost[0]).mode == "human"  # a human takes it


def test_a_bot_reply_to_a_customer_who_opted_out_meanwhile_is_cancelled_inside_the_window(
    world: World,
) -> None:
    from store.models import Contact, Conversation

    cid, oid = reply_item(world)  # the customer wrote a moment ago: the window is open
    with world.db.tenant_session(world.tenant_id) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        contact.opted_out = True  # STOP arrived while the turn ran
    outcome = send_item(world.db, world.sender, world.tenant_id, oid)
    assert outcome.status == "cancelled" and outcome.error == "opted_out"
    assert world.sender.sent == [] and item(world, oid).status == "cancelled"
