"""The order of work the gateway will follow, against the real store: route, verify, parse, dedupe."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from channels.contacts import resolve_contact
from channels.events import InboundMessage
from channels.signature import sign, verify_signature
from channels.webhook import decode, parse_payload, phone_number_ids
from store.models import Conversation, Message
from store.repo import channels as channel_repo


def webhook(pnid: str, wamid: str) -> bytes:
    message = {
        "from": "34600000001",
        "id": wamid,
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "hola"},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000000", "phone_number_id": pnid},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "34600000001", "user_id": "US.1"}],
        "messages": [message],
    }
    entry = {"id": "waba", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def test_route_verify_parse_store_and_dedupe(sqlite_db: Any, make_tenant: Any) -> None:
    a, b = make_tenant(sqlite_db, "clinic-a"), make_tenant(sqlite_db, "clinic-b")
    with sqlite_db.admin_session() as session:
        for tenant, pnid, secret in ((a, "111", "secret-a"), (b, "222", "secret-b")):
            channel_repo.activate(session, channel_repo.add(
                session, sqlite_db.keyring, tenant, phone_number_id=pnid, verify_token="verify-token", app_secret=secret,
                access_token="access-token",
            ))  # fmt: skip

    def receive(raw: bytes, header: str) -> int:
        """What the gateway does; returns the HTTP status."""
        data = decode(raw)
        (pnid,) = phone_number_ids(data)
        with sqlite_db.app_session() as session:
            tenant = channel_repo.tenant_of_phone_number_id(session, pnid)
        assert tenant is not None
        with sqlite_db.tenant_session(tenant) as session:
            channel = channel_repo.by_phone_number_id(session, pnid)
            assert channel is not None
            if not verify_signature(
                raw, header, channel_repo.secrets_of(sqlite_db.keyring, channel).app_secret
            ):
                return 401
            for event in parse_payload(data).events:
                assert isinstance(event, InboundMessage)
                seen = session.scalar(
                    select(Message.id).where(
                        Message.tenant_id == tenant, Message.wa_message_id == event.wa_message_id
                    )
                )
                if seen is not None:
                    continue
                contact = resolve_contact(session, sqlite_db.keyring, tenant, event.sender)
                conversation = Conversation(tenant_id=tenant, contact_id=contact.id, channel_id=channel.id)
                session.add(conversation)
                session.flush()
                session.add(
                    Message(
                        tenant_id=tenant, conversation_id=conversation.id, direction="in", author="customer",
                        wa_message_id=event.wa_message_id,
                    )
                )  # fmt: skip
        return 200

    raw = webhook("111", "wamid.1")
    assert receive(raw, sign(raw, "secret-b")) == 401  # another channel's secret
    assert receive(raw, sign(raw, "secret-a")) == 200
    assert receive(raw, sign(raw, "secret-a")) == 200  # Meta delivers twice
    other = webhook("222", "wamid.1")  # the same id at another tenant is another message
    assert receive(other, sign(other, "secret-b")) == 200
    with sqlite_db.admin_session() as session:
        rows = session.execute(select(Message.tenant_id, Message.wa_message_id)).all()
    assert sorted(rows) == sorted([(a, "wamid.1"), (b, "wamid.1")])
