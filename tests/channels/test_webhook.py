"""Webhook envelope: malformed bodies, size limit, routing, batches, future bsuid-only payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.errors import MalformedWebhook
from channels.events import InboundMessage, StatusUpdate
from channels.webhook import MAX_BODY_BYTES, parse_payload, parse_webhook, phone_number_ids


def change(pnid: str, value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    metadata = {"display_phone_number": "15550001111", "phone_number_id": pnid}
    return {"field": field, "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}


def body(*changes: dict[str, Any], waba: str = "waba-1") -> bytes:
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": list(changes)}]}
    ).encode()


def text(wamid: str, sender: str = "34600000001", words: str = "hola") -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": "1700000000", "type": "text", "text": {"body": words}}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"object": "whatsapp_business_account", "entry": [',
        b"[1, 2, 3]",
        b'"string"',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": {}}',
        b'{"object": "whatsapp_business_account", "entry": [1]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": {}}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": 1, "value": {}}]}]}',
        b'{"object": "whatsapp_business_account", "entry": [], "x": NaN}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_bodies_raise(raw: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        parse_webhook(raw)
    with pytest.raises(MalformedWebhook):
        phone_number_ids(raw)


def test_error_message_never_contains_the_text() -> None:
    raw = b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": "my secret"}]}]'
    with pytest.raises(MalformedWebhook) as info:
        parse_webhook(raw)
    assert "secret" not in str(info.value)


def test_body_over_3_mb_is_rejected_before_parsing() -> None:
    filler = "x" * (MAX_BODY_BYTES + 1)
    with pytest.raises(MalformedWebhook, match="exceeds"):
        parse_webhook(body(change("1", {"messages": [text("wamid.big", words=filler)]})))


def test_body_just_under_the_limit_is_accepted() -> None:
    raw = body(change("1", {"messages": [text("wamid.ok", words="")]}))
    padding = MAX_BODY_BYTES - len(raw) - 32
    raw = body(change("1", {"messages": [text("wamid.ok", words="y" * padding)]}))
    assert len(raw) <= MAX_BODY_BYTES
    (event,) = parse_webhook(raw).events
    assert isinstance(event, InboundMessage) and len(event.text) == padding


def test_other_objects_are_ignored_not_failed() -> None:
    batch = parse_webhook(b'{"object": "page", "entry": [{"id": "1", "messaging": []}]}')
    assert [e.kind for e in batch.events] == ["ignored"]
    assert phone_number_ids(b'{"object": "page"}') == []


def test_a_batch_keeps_every_message_of_every_number() -> None:
    raw = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "w1", "changes": [change("111", {"messages": [text("wamid.a"), text("wamid.b")]})]},
                {
                    "id": "w2",
                    "changes": [
                        change("222", {"messages": [text("wamid.c")]}),
                        change(
                            "111", {"statuses": [{"id": "wamid.z", "status": "read", "recipient_id": "1"}]}
                        ),
                    ],
                },
            ],
        }
    ).encode()
    assert phone_number_ids(raw) == ["111", "222"]
    batch = parse_webhook(raw)
    assert [(e.kind, e.phone_number_id) for e in batch.events] == [
        ("inbound", "111"),
        ("inbound", "111"),
        ("inbound", "222"),
        ("status", "111"),
    ]
    assert [getattr(e, "wa_message_id", None) for e in batch.events] == [
        "wamid.a",
        "wamid.b",
        "wamid.c",
        "wamid.z",
    ]
    assert batch.waba_ids == ["w1", "w2"]


def test_bsuid_only_sender_of_the_future() -> None:
    message = {
        "from_user_id": "US.777",
        "from_parent_user_id": "US.ENT.9",
        "id": "wamid.future",
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "hola"},
    }
    contacts = [{"profile": {"name": "Ana"}, "user_id": "US.777"}]
    (event,) = parse_webhook(body(change("1", {"contacts": contacts, "messages": [message]}))).events
    assert isinstance(event, InboundMessage)
    assert event.sender.wa_id is None
    assert (event.sender.bsuid, event.sender.parent_bsuid, event.sender.profile_name) == (
        "US.777",
        "US.ENT.9",
        "Ana",
    )
    assert event.sender.known


def test_status_with_bsuid_recipient() -> None:
    status = {"id": "wamid.s", "status": "DELIVERED", "timestamp": "1700000000", "recipient_user_id": "US.5"}
    (event,) = parse_webhook(body(change("1", {"statuses": [status]}))).events
    assert isinstance(event, StatusUpdate)
    assert event.status == "delivered" and event.recipient.bsuid == "US.5" and event.recipient.wa_id is None


def test_odd_items_are_ignored_with_a_reason_not_fatal() -> None:
    value = {"messages": ["nonsense", {"type": "text", "text": {"body": "no id"}}, text("wamid.ok")]}
    batch = parse_webhook(body(change("1", value)))
    assert [e.kind for e in batch.events] == ["ignored", "ignored", "inbound"]
    assert [e.reason for e in batch.events if e.kind == "ignored"] == [
        "message is not an object",
        "message without id",
    ]


def test_unknown_field_and_unknown_type() -> None:
    batch = parse_webhook(body(change("1", {"foo": 1}, field="brand_new_field")))
    (ignored,) = batch.events
    assert ignored.kind == "ignored" and "brand_new_field" in ignored.reason
    poll = {"from": "1", "id": "wamid.poll", "timestamp": "1", "type": "poll", "poll": {}}
    (event,) = parse_webhook(body(change("1", {"messages": [poll]}))).events
    assert isinstance(event, InboundMessage) and event.needs_polite_reply and event.type == "poll"


def test_bad_timestamps_do_not_fail() -> None:
    message = text("wamid.t") | {"timestamp": "yesterday"}
    (event,) = parse_webhook(body(change("1", {"messages": [message]}))).events
    assert isinstance(event, InboundMessage) and event.timestamp is None


def test_parse_payload_accepts_decoded_json() -> None:
    data = json.loads(body(change("1", {"messages": [text("wamid.p")]})))
    assert parse_payload(data).events[0].kind == "inbound"


def test_request_welcome_is_answered_normally() -> None:
    welcome = {"from": "1", "id": "wamid.w", "timestamp": "1", "type": "request_welcome"}
    (event,) = parse_webhook(body(change("1", {"messages": [welcome]}))).events
    assert isinstance(event, InboundMessage) and event.expects_reply and not event.needs_polite_reply


def test_route_from_decoded_json_then_parse_once() -> None:
    from channels.webhook import decode, waba_ids

    data = decode(body(change("42", {"messages": [text("wamid.once")]}), waba="w9"))
    assert phone_number_ids(data) == ["42"] and waba_ids(data) == ["w9"]
    assert parse_payload(data).events[0].phone_number_id == "42"
