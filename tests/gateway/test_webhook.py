"""The WhatsApp webhook through the real app: corpus, signatures, limits, dedupe, echoes,
statuses, consent, media and unsupported types, the subscription handshake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from channels.optout import consent_confirmation
from store.identity import new_contact
from store.models import (
    AuditEntry,
    Contact,
    Conversation,
    Message,
    MessageTemplate,
    OutboxItem,
    Tenant,
    WebhookEvent,
)
from store.sealed import seal, unseal
from tests.gateway.conftest import Gateway, corpus_cases, retarget, text_message
from tests.gateway.helpers import count, rows, stored_total, uniquify

CASES = corpus_cases()
# What each corpus file must become (an outcome of gateway.inbound.Effects).
EXPECTED = {
    "account_update": {"recorded"},
    "call_connect": {"recorded"},
    "call_permission_update": {"message"},
    "call_status": {"recorded"},
    "call_terminate": {"recorded"},
    "callback_button": {"message"},
    "callback_selection": {"message"},
    "deleted_message": {"delete"},
    "edited_message": {"edit"},
    "flow_completion": {"message"},
    "message": {"message", "unsupported"},
    "message_status": {"status_unmatched"},
    "outgoing_message": {"echo"},
    "system": {"system"},
    "template_category_update": {"template"},
    "template_components_update": {"template"},
    "template_quality_update": {"template"},
    "template_status_update": {"template"},
    "user_marketing_preferences": {"preference"},
}


def _items(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        item
        for entry in body["entry"]
        for change in entry["changes"]
        for item in change["value"].get(name, []) or []
        if isinstance(item, dict)
    ]


def test_the_whole_corpus_is_answered_and_nothing_is_lost(gw: Gateway) -> None:
    assert len(CASES) == 74
    failures: list[str] = []
    for number, (name, original) in enumerate(CASES):
        body = uniquify(retarget(original, gw.a), f"c{number}")
        response = gw.post_webhook(body)
        if response.status_code != 200:
            failures.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
            continue
        outcomes = set(response.json()["outcomes"])
        if not outcomes or not outcomes <= EXPECTED[name.split(":")[0]]:
            failures.append(f"{name}: outcomes {outcomes}")
        if response.json()["unrouted"]:
            failures.append(f"{name}: unrouted events")
        # Every customer message and owner echo is a message; every status or other item is recorded.
        for item in _items(body, "messages"):
            if item.get("type") == "system":
                continue
            stored = count(gw.db, Message, wa_message_id=item["id"]) + count(
                gw.db, WebhookEvent, wa_message_id=item["id"]
            )
            if stored != 1:
                failures.append(f"{name}: message {item['id']} stored {stored} times")
        for item in _items(body, "message_echoes"):
            if count(gw.db, Message, wa_message_id=item["id"], author="agent") != 1:
                failures.append(f"{name}: echo {item['id']} not stored")
        for item in _items(body, "statuses"):
            if item.get("type") == "call":
                continue
            recorded = [e for e in rows(gw.db, WebhookEvent, wa_message_id=item["id"], kind="status")]
            if not any(e.details.get("status") == item["status"] for e in recorded):
                failures.append(f"{name}: status {item['id']} {item['status']} lost")
        fields = {c["field"] for entry in body["entry"] for c in entry["changes"]}
        for field in fields - {"messages", "smb_message_echoes"}:
            if not count(gw.db, WebhookEvent, field=field):
                failures.append(f"{name}: field {field} not recorded")
    assert not failures, "\n".join(failures)
    # Nothing stored for the other tenant; recorded payloads are sealed, never in clear.
    assert count(gw.db, Message, tenant_id=gw.b.id) == 0
    for event in rows(gw.db, WebhookEvent, tenant_id=gw.a.id):
        assert "Test Name" not in json.dumps(event.details)
    assert not [e for e in rows(gw.db, WebhookEvent) if e.kind == "error"]


def test_corpus_replayed_is_deduplicated(sgw: Gateway) -> None:
    bodies = [retarget(b, sgw.a) for name, b in CASES if name.startswith("message:")]
    for body in bodies:
        assert sgw.post_webhook(body).status_code == 200
    messages, wakes = count(sgw.db, Message), len(sgw.drains)
    for body in bodies:
        assert sgw.post_webhook(body).status_code == 200
    assert count(sgw.db, Message) == messages
    assert len(sgw.drains) == wakes


# --- signatures, shape, size ------------------------------------------------------------------------


def test_bad_signatures_answer_401_and_store_nothing(gw: Gateway) -> None:
    from channels.signature import sign

    body = json.dumps(text_message(gw.a, "hola")).encode()
    before = stored_total(gw.db)
    cases = {
        "invalid": "sha256=" + "0" * 64,
        "other channel's secret": sign(body, gw.b.app_secret),
        "empty": "",
        "malformed": "md5=abc",
        "missing": None,
    }
    for case, signature in cases.items():
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        response = gw.client.post("/webhooks/whatsapp", content=body, headers=headers)
        assert response.status_code == 401, case
    assert stored_total(gw.db) == before
    assert not gw.drains


def test_a_valid_signature_is_accepted(gw: Gateway) -> None:
    assert gw.post_webhook(text_message(gw.a, "hola")).status_code == 200
    assert count(gw.db, Message, tenant_id=gw.a.id) == 1


def test_a_body_mixing_two_tenants_numbers_needs_both_secrets(sgw: Gateway) -> None:
    body = text_message(sgw.a, "hola")
    other = text_message(sgw.b, "hi", wamid="wamid.B")["entry"][0]
    body["entry"].append(other)
    assert sgw.post_webhook(body, secret=sgw.a.app_secret).status_code == 401
    assert count(sgw.db, Message) == 0


MALFORMED = [
    b"{not json",
    b"[]",
    b"NaN",
    b'{"object": "whatsapp_business_account"}',
    b'{"object":"whatsapp_business_account","entry":[1]}',
    b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]}',
]


def test_malformed_bodies_answer_400_and_store_nothing(gw: Gateway) -> None:
    before = stored_total(gw.db)
    for raw in MALFORMED:
        assert gw.post_webhook(raw).status_code == 400, raw
    assert stored_total(gw.db) == before


def test_bodies_over_3_mb_answer_413(sgw: Gateway) -> None:
    big = text_message(sgw.a, "x" * (3 * 1024 * 1024))
    response = sgw.post_webhook(big)
    assert response.status_code == 413
    # Without Content-Length (chunked): the limit holds while streaming.
    raw = json.dumps(big).encode()

    def chunks() -> Any:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = sgw.client.post(
        "/webhooks/whatsapp", content=chunks(), headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert response.status_code == 413
    assert count(sgw.db, Message) == 0
    # Just under the limit is fine.
    assert sgw.post_webhook(text_message(sgw.a, "y" * (3 * 1024 * 1024 - 2000))).status_code == 200


def test_unknown_phone_number_id_answers_200_and_stores_nothing(gw: Gateway, caplog: Any) -> None:
    body = text_message(gw.a, "hola")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "9999999"
    before = stored_total(gw.db)
    response = gw.post_webhook(body, secret="whatever")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert stored_total(gw.db) == before
    assert "unknown numbers" in caplog.text
    assert "hola" not in caplog.text


# --- messages ---------------------------------------------------------------------------------------


def test_duplicates_store_one_message_and_wake_once(gw: Gateway) -> None:
    body = text_message(gw.a, "¿abrís el sábado?")
    for _ in range(3):
        assert gw.post_webhook(body).status_code == 200
    (message,) = rows(gw.db, Message, tenant_id=gw.a.id)
    assert len(gw.drains) == 1
    assert gw.drains[0] == (gw.a.id, message.conversation_id)
    assert unseal(gw.db.keyring, message, "body_ciphertext") == "¿abrís el sábado?"
    assert message.body_ciphertext and "abrís" not in message.body_ciphertext
    received = rows(gw.db, AuditEntry, tenant_id=gw.a.id, action="message.received")
    assert len(received) == 1
    assert "abrís" not in json.dumps(received[0].details)


def test_media_keeps_the_id_and_the_bot_sees_a_marker(sgw: Gateway) -> None:
    body = retarget(dict(CASES)["message:image"], sgw.a)
    assert sgw.post_webhook(body).status_code == 200
    (message,) = rows(sgw.db, Message)
    assert message.kind == "image"
    assert message.media_id == "65463453"
    assert message.media_mime_type == "image/jpeg"
    assert unseal(sgw.db.keyring, message, "body_ciphertext").startswith("[image]")
    assert len(sgw.drains) == 1


def test_unsupported_types_get_a_polite_answer_not_a_bot_run(sgw: Gateway) -> None:
    body = retarget(dict(CASES)["message:unsupported"], sgw.a)
    assert sgw.post_webhook(body).status_code == 200
    assert sgw.post_webhook(body).status_code == 200  # redelivered: still one answer
    (message,) = rows(sgw.db, Message)
    assert message.turn_id is not None  # not pending: the bot will not run on it
    (item,) = rows(sgw.db, OutboxItem)
    assert item.author == "bot"
    assert "text" in unseal(sgw.db.keyring, item, "body_ciphertext").lower()
    assert sgw.sends == [(sgw.a.id, item.id)]
    assert not sgw.drains


def test_reactions_are_stored_without_a_bot_run(sgw: Gateway) -> None:
    body = retarget(dict(CASES)["message:reaction"], sgw.a)
    assert sgw.post_webhook(body).status_code == 200
    (message,) = rows(sgw.db, Message)
    assert message.kind == "reaction" and message.turn_id is not None
    assert not sgw.drains and not sgw.sends


def test_messages_route_to_their_tenant(gw: Gateway) -> None:
    assert gw.post_webhook(text_message(gw.a, "hola", wamid="wamid.same")).status_code == 200
    assert gw.post_webhook(text_message(gw.b, "hi", wamid="wamid.same"), gw.b).status_code == 200
    assert count(gw.db, Message, tenant_id=gw.a.id) == 1
    assert count(gw.db, Message, tenant_id=gw.b.id) == 1
    assert {t for t, _ in gw.drains} == {gw.a.id, gw.b.id}


# --- echoes and statuses --------------------------------------------------------------------------


def _conversation(gw: Gateway) -> Conversation:
    (conversation,) = rows(gw.db, Conversation, tenant_id=gw.a.id)
    return conversation


def test_an_echo_from_the_phone_is_a_takeover(gw: Gateway) -> None:
    assert gw.post_webhook(text_message(gw.a, "hola", wa_id="972987654321")).status_code == 200
    before = _conversation(gw)
    with gw.db.tenant_session(gw.a.id) as session:  # a bot reply waiting to be sent
        item = OutboxItem(
            tenant_id=gw.a.id,
            conversation_id=before.id,
            idempotency_key="reply:t1",
            epoch=before.epoch,
            author="bot",
            status="pending",
            attempts=0,
        )
        seal(gw.db.keyring, item, "body_ciphertext", "bot says hi")
        session.add(item)
    echo = retarget(dict(CASES)["outgoing_message:text"], gw.a)
    echo["entry"][0]["changes"][0]["value"]["message_echoes"][0]["to"] = "972987654321"
    for _ in range(2):
        response = gw.post_webhook(echo)
        assert response.status_code == 200
    after = _conversation(gw)
    assert after.mode == "human"
    assert after.epoch == before.epoch + 1  # bumped once, not per delivery
    assert rows(gw.db, OutboxItem)[0].status == "cancelled"
    (reply,) = rows(gw.db, Message, direction="out")
    assert reply.author == "agent"
    assert [e.action for e in rows(gw.db, AuditEntry, tenant_id=gw.a.id, action="conversation.takeover")]


def _outbound(gw: Gateway, wamid: str) -> None:
    with gw.db.tenant_session(gw.a.id) as session:
        contact = new_contact(gw.db.keyring, gw.a.id, "34600999888")
        session.add(contact)
        session.flush()
        conversation = Conversation(tenant_id=gw.a.id, contact_id=contact.id, channel_id=gw.a.channel_id)
        session.add(conversation)
        session.flush()
        message = Message(
            tenant_id=gw.a.id,
            conversation_id=conversation.id,
            direction="out",
            author="bot",
            kind="text",
            wa_message_id=wamid,
            status="sent",
        )
        seal(gw.db.keyring, message, "body_ciphertext", "hello")
        session.add(message)


def _status_body(gw: Gateway, wamid: str, status: str, ts: int, error: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(ts),
        "recipient_id": "34600999888",
    }
    if error:
        item["errors"] = [{"code": error, "title": "Message undeliverable"}]
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": gw.a.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": gw.a.phone_number_id,
                            },
                            "statuses": [item],
                        },
                    }
                ],
            }
        ],
    }


def test_status_callbacks_out_of_order(gw: Gateway) -> None:
    _outbound(gw, "wamid.OUT1")
    for status, ts, error in (
        ("read", 1700000300, None),
        ("delivered", 1700000200, None),
        ("sent", 1700000100, None),
        ("failed", 1700000400, 131026),
    ):
        assert gw.post_webhook(_status_body(gw, "wamid.OUT1", status, ts, error)).status_code == 200
    (message,) = rows(gw.db, Message, wa_message_id="wamid.OUT1")
    assert message.status == "read"
    assert message.error_code == "131026"
    assert int(message.status_at.timestamp()) == 1700000300


def test_a_status_for_an_unknown_message_is_recorded(gw: Gateway) -> None:
    assert gw.post_webhook(_status_body(gw, "wamid.NOPE", "delivered", 1700000200)).status_code == 200
    (event,) = rows(gw.db, WebhookEvent, wa_message_id="wamid.NOPE")
    assert event.kind == "status" and event.details["status"] == "delivered"


# --- consent ----------------------------------------------------------------------------------------


def test_opt_out_and_opt_in(gw: Gateway) -> None:
    assert gw.post_webhook(text_message(gw.a, "hola", wamid="wamid.1")).status_code == 200
    conversation = _conversation(gw)
    assert len(gw.drains) == 1
    gw.clock.advance(minutes=5)
    stopped_at = gw.clock.now
    assert gw.post_webhook(text_message(gw.a, "STOP", wamid="wamid.2")).status_code == 200
    (contact,) = rows(gw.db, Contact, tenant_id=gw.a.id)
    assert contact.opted_out and contact.opted_out_at == stopped_at and contact.consent_source == "keyword"
    assert len(gw.drains) == 1  # the bot does not run on STOP
    (confirmation,) = rows(gw.db, OutboxItem)
    assert confirmation.author == "system"
    assert gw.sends == [(gw.a.id, confirmation.id)]
    assert _conversation(gw).epoch == conversation.epoch + 1  # in-flight bot runs are fenced off
    assert rows(gw.db, AuditEntry, tenant_id=gw.a.id, action="consent.opt_out")

    # While opted out: stored, but no bot run and no answer.
    assert gw.post_webhook(text_message(gw.a, "¿y el horario?", wamid="wamid.3")).status_code == 200
    assert len(gw.drains) == 1 and len(gw.sends) == 1
    assert count(gw.db, Message, tenant_id=gw.a.id) == 3

    gw.clock.advance(minutes=5)
    assert gw.post_webhook(text_message(gw.a, "Alta", wamid="wamid.4")).status_code == 200
    (contact,) = rows(gw.db, Contact, tenant_id=gw.a.id)
    assert not contact.opted_out and contact.opted_in_at == gw.clock.now
    assert len(gw.sends) == 2
    assert rows(gw.db, AuditEntry, tenant_id=gw.a.id, action="consent.opt_in")
    assert gw.post_webhook(text_message(gw.a, "hola otra vez", wamid="wamid.5")).status_code == 200
    assert len(gw.drains) == 2


@pytest.mark.parametrize("word", ["BAJA", "parar", "Sair", "ABMELDEN", "stop please"])
def test_opt_out_words(sgw: Gateway, word: str) -> None:
    assert sgw.post_webhook(text_message(sgw.a, word)).status_code == 200
    (contact,) = rows(sgw.db, Contact)
    assert contact.opted_out
    assert not sgw.drains


def test_a_word_that_is_a_command_in_one_language_follows_the_tenants_language(sgw: Gateway) -> None:
    with sgw.db.admin_session() as session:
        session.get_one(Tenant, sgw.a.id).settings = {"default_language": "es"}
        session.get_one(Tenant, sgw.b.id).settings = {"default_language": "en"}
    assert sgw.post_webhook(text_message(sgw.a, "FIN", wamid="wamid.1")).status_code == 200
    assert sgw.post_webhook(text_message(sgw.b, "FIN", wamid="wamid.2"), sgw.b).status_code == 200
    opted_out = {c.tenant_id: c.opted_out for c in rows(sgw.db, Contact)}
    assert opted_out == {sgw.a.id: True, sgw.b.id: False}  # "fin" is a command in Spanish only
    (confirmation,) = rows(sgw.db, OutboxItem)
    assert unseal(sgw.db.keyring, confirmation, "body_ciphertext") == consent_confirmation("opt_out", "es")
    (conversation,) = rows(sgw.db, Conversation, tenant_id=sgw.b.id)
    assert sgw.drains == [(sgw.b.id, conversation.id)]  # for the other tenant, a question for the bot


def test_opt_out_cancels_pending_bot_replies(sgw: Gateway) -> None:
    assert sgw.post_webhook(text_message(sgw.a, "hola", wamid="wamid.1")).status_code == 200
    conversation = _conversation(sgw)
    with sgw.db.tenant_session(sgw.a.id) as session:
        item = OutboxItem(
            tenant_id=sgw.a.id,
            conversation_id=conversation.id,
            idempotency_key="reply:x",
            epoch=conversation.epoch,
            author="bot",
            status="pending",
            attempts=0,
        )
        seal(sgw.db.keyring, item, "body_ciphertext", "a bot reply")
        session.add(item)
    assert sgw.post_webhook(text_message(sgw.a, "STOP", wamid="wamid.2")).status_code == 200
    statuses = {i.idempotency_key: i.status for i in rows(sgw.db, OutboxItem)}
    assert statuses["reply:x"] == "cancelled"


# --- templates and the handshake ----------------------------------------------------------------------


def test_template_status_webhooks_update_the_registry(gw: Gateway) -> None:
    with gw.db.tenant_session(gw.a.id) as session:
        session.add(
            MessageTemplate(
                tenant_id=gw.a.id,
                name="order_confirmation",
                language="en_US",
                status="PENDING",
                purposes=["followup"],
            )
        )
    body = retarget(dict(CASES)["template_status_update:approved"], gw.a)
    assert gw.post_webhook(body).status_code == 200
    (template,) = rows(gw.db, MessageTemplate)
    assert template.status == "APPROVED"
    with gw.db.admin_session() as session:
        settings = session.scalar(select(Tenant.settings).where(Tenant.id == gw.a.id))
    assert settings["whatsapp_templates"][0]["status"] == "APPROVED"
    assert count(gw.db, MessageTemplate, tenant_id=gw.b.id) == 0


def test_subscription_handshake_per_channel(gw: Gateway) -> None:
    for tenant in (gw.a, gw.b):
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": tenant.verify_token,
            "hub.challenge": "1158201444",
        }
        response = gw.client.get("/webhooks/whatsapp", params=params)
        assert response.status_code == 200
        assert response.text == "1158201444"
    bad = [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong-token", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": gw.a.verify_token, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": gw.a.verify_token, "hub.challenge": "<script>"},
        {},
    ]
    for params in bad:
        assert gw.client.get("/webhooks/whatsapp", params=params).status_code == 403
