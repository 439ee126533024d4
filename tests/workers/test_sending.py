"""The Cloud API adapter against the channels' fake Cloud API (a local HTTP server)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from channels.cloud_api import CloudApiClient
from channels.fake_cloud_api import FakeCloudApi
from errors import PermanentSendError, SendError
from store.models import Channel, Conversation, OutboxItem
from store.repo import channels
from tests.workers.conftest import World, make_ctx
from workers import mailbox
from workers.drain import drain
from workers.outbox import send_item
from workers.sending import WhatsAppSender


@pytest.fixture
def cloud_api() -> Any:
    with FakeCloudApi() as fake:
        yield fake


def setup_channel(world: World, cloud_api: Any) -> tuple[int, WhatsAppSender]:
    with world.db.tenant_session(world.tenant_id) as session:
        channel = channels.add(
            session,
            world.db.keyring,
            world.tenant_id,
            phone_number_id="1234567890",
            verify_token="verify-token",
            app_secret="app-secret",
            access_token="EAAG-token",
        )
        channel_id = channels.activate(session, channel).id
    cid = world.conversation()
    with world.db.tenant_session(world.tenant_id) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        conversation.channel_id = channel_id
    cloud_api.register("1234567890", "EAAG-token")
    return cid, WhatsAppSender(world.db, CloudApiClient(cloud_api.base_url, timeout=5))


def test_reply_goes_out_through_the_cloud_api_once(world: World, cloud_api: Any) -> None:
    cid, sender = setup_channel(world, cloud_api)
    ctx = make_ctx(world.db, sender=sender)
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.g1", text="hola")
    drain(ctx, world.tenant_id, cid)
    ((_, outbox_id, _),) = ctx.enqueue.take_sends()  # type: ignore[attr-defined]
    cloud_api.fail_next(130429)  # throughput limit
    first = send_item(world.db, sender, world.tenant_id, outbox_id)
    assert first.status == "retry" and first.error is not None and "RateLimited" in first.error
    assert first.retry_in is not None and first.retry_in > 0
    assert cloud_api.sent == []
    with world.db.tenant_session(world.tenant_id) as session:
        session.execute(update(OutboxItem).values(next_attempt_at=None))
    done = send_item(world.db, sender, world.tenant_id, outbox_id)
    assert done.status == "sent"
    assert len(cloud_api.sent) == 1 and done.wa_message_id == cloud_api.sent[0].wa_message_id
    assert (cloud_api.sent[0].text or "").startswith("reply ")
    ctx.close()


def test_meta_errors_map_to_retryable_and_permanent(world: World, cloud_api: Any) -> None:
    cid, sender = setup_channel(world, cloud_api)
    cloud_api.fail_next(131047)  # outside the 24-hour window
    with pytest.raises(PermanentSendError) as permanent:
        sender.send_text(
            tenant_id=world.tenant_id, conversation_id=cid, to="34600000001", text="x", idempotency_key="k1"
        )
    assert permanent.value.reason == "OutsideWindow:131047" and not permanent.value.retryable
    cloud_api.fail_next(131000, http_status=500)
    with pytest.raises(SendError) as transient:
        sender.send_text(
            tenant_id=world.tenant_id, conversation_id=cid, to="34600000001", text="x", idempotency_key="k2"
        )
    assert transient.value.reason == "TransientSendError:131000" and transient.value.retryable


def test_nothing_is_sent_from_a_pending_channel(world: World, cloud_api: Any) -> None:
    cid, sender = setup_channel(world, cloud_api)
    with world.db.tenant_session(world.tenant_id) as session:
        session.execute(update(Channel).values(verified_at=None))  # ownership not proven
    for send in (
        lambda: sender.send_text(
            tenant_id=world.tenant_id, conversation_id=cid, to="34600000001", text="x", idempotency_key="p1"
        ),
        lambda: sender.send_template(
            tenant_id=world.tenant_id,
            conversation_id=cid,
            to="34600000001",
            name="follow_up",
            language="es",
            parameters=[],
            idempotency_key="p2",
        ),
    ):
        with pytest.raises(PermanentSendError) as refused:
            send()
        assert refused.value.reason == "channel_pending"
    assert cloud_api.requests == 0


def queue_template(world: World, cid: int, body: str, key: str) -> int:
    """What the gateway does for an agent's template reply: an outbox item of kind template."""
    from workers.outbox import insert_outbox

    with world.db.tenant_session(world.tenant_id) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        outbox_id = insert_outbox(
            session,
            world.db.keyring,
            tenant_id=world.tenant_id,
            conversation_id=cid,
            epoch=conversation.epoch,
            author="agent",
            text=body,
            idempotency_key=key,
        )
        item = session.get(OutboxItem, outbox_id)
        assert item is not None
        item.kind = "template"
    return outbox_id


def test_template_item_goes_out_as_a_template_never_as_text(world: World, cloud_api: Any) -> None:
    import json

    from sqlalchemy import select

    from store.models import Message

    cid, sender = setup_channel(world, cloud_api)
    body = json.dumps({"name": "appointment_reminder", "language": "es", "params": ["Ana", "10:30"]})
    outbox_id = queue_template(world, cid, body, "agent:t1")
    done = send_item(world.db, sender, world.tenant_id, outbox_id)
    assert done.status == "sent"
    (sent,) = cloud_api.sent
    assert sent.type == "template" and sent.text is None
    assert sent.template_name == "appointment_reminder"
    assert sent.payload["template"]["language"] == {"code": "es"}
    assert sent.template_parameters == ["Ana", "10:30"]
    assert sent.idempotency_key == "agent:t1" and done.wa_message_id == sent.wa_message_id
    assert send_item(world.db, sender, world.tenant_id, outbox_id).status == "skipped"
    with world.db.tenant_session(world.tenant_id) as session:
        message = session.scalar(select(Message).where(Message.wa_message_id == sent.wa_message_id))
        assert message is not None and message.kind == "template" and message.author == "agent"


def test_template_item_fails_rather_than_go_out_as_json_text(world: World, cloud_api: Any) -> None:
    from workers.testing import RecordingSender

    class TextOnly:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def send_text(
            self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
        ) -> str:
            self.texts.append(text)
            return "wamid.x"

    cid, sender = setup_channel(world, cloud_api)
    good = queue_template(world, cid, '{"name": "hello", "language": "en", "params": []}', "agent:t2")
    text_only = TextOnly()
    outcome = send_item(world.db, text_only, world.tenant_id, good)
    assert outcome.status == "failed" and outcome.error == "templates_unsupported"
    assert text_only.texts == []
    broken = queue_template(world, cid, '{"name": "hello"}', "agent:t3")
    outcome = send_item(world.db, sender, world.tenant_id, broken)
    assert outcome.status == "failed" and outcome.error == "bad_template"
    assert cloud_api.sent == []
    recording = RecordingSender()
    fresh = queue_template(world, cid, '{"name": "hello", "language": "en", "params": ["x"]}', "agent:t4")
    assert send_item(world.db, recording, world.tenant_id, fresh).status == "sent"
    assert recording.sent[0].template == ("hello", "en", ("x",))
