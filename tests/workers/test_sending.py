"""The Graph API adapter against the channels' fake Graph API (a local HTTP server)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from channels.fake_graph import FakeGraph
from channels.graph import GraphClient
from store.models import Conversation, OutboxItem
from store.repo import channels
from tests.workers.conftest import World, make_ctx
from workers import mailbox
from workers.drain import drain
from workers.errors import PermanentSendError, RetryableSendError
from workers.outbox import send_item
from workers.sending import GraphSender


@pytest.fixture
def graph() -> Any:
    with FakeGraph() as fake:
        yield fake


def setup_channel(world: World, graph: Any) -> tuple[int, GraphSender]:
    with world.db.tenant_session(world.tenant_id) as session:
        channel = channels.add(
            session,
            world.db.keyring,
            world.tenant_id,
            phone_number_id="1234567890",
            verify_token="v",
            app_secret="s",
            access_token="EAAG-token",
        )
        channel_id = channel.id
    cid = world.conversation()
    with world.db.tenant_session(world.tenant_id) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        conversation.channel_id = channel_id
    graph.register("1234567890", "EAAG-token")
    return cid, GraphSender(world.db, GraphClient(graph.base_url, timeout=5))


def test_reply_goes_out_through_the_graph_api_once(world: World, graph: Any) -> None:
    cid, sender = setup_channel(world, graph)
    ctx = make_ctx(world.db, sender=sender)
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.g1", text="hola")
    drain(ctx, world.tenant_id, cid)
    ((_, outbox_id, _),) = ctx.enqueue.take_sends()  # type: ignore[attr-defined]
    graph.fail_next(130429)  # throughput limit
    first = send_item(world.db, sender, world.tenant_id, outbox_id)
    assert first.status == "retry" and first.error is not None and "RateLimited" in first.error
    assert first.retry_in is not None and first.retry_in > 0
    assert graph.sent == []
    with world.db.tenant_session(world.tenant_id) as session:
        session.execute(update(OutboxItem).values(next_attempt_at=None))
    done = send_item(world.db, sender, world.tenant_id, outbox_id)
    assert done.status == "sent"
    assert len(graph.sent) == 1 and done.wa_message_id == graph.sent[0].wa_message_id
    assert (graph.sent[0].text or "").startswith("reply ")
    ctx.close()


def test_meta_errors_map_to_retryable_and_permanent(world: World, graph: Any) -> None:
    cid, sender = setup_channel(world, graph)
    graph.fail_next(131047)  # outside the 24-hour window
    with pytest.raises(PermanentSendError):
        sender.send_text(
            tenant_id=world.tenant_id, conversation_id=cid, to="34600000001", text="x", idempotency_key="k1"
        )
    graph.fail_next(131000, http_status=500)
    with pytest.raises(RetryableSendError):
        sender.send_text(
            tenant_id=world.tenant_id, conversation_id=cid, to="34600000001", text="x", idempotency_key="k2"
        )
