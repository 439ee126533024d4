"""The whole WhatsApp conformance corpus: parsed, nothing lost, every kind handled on purpose."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.events import Echo, InboundMessage, StatusUpdate, WebhookBatch
from channels.signature import sign, verify_signature
from channels.webhook import parse_webhook, phone_number_ids, waba_ids

from .conftest import corpus_cases

CASES = corpus_cases()
ITEM_LISTS = {
    "messages": ("messages", "statuses"),
    "calls": ("calls", "statuses"),
    "smb_message_echoes": ("message_echoes",),
    "user_preferences": ("user_preferences",),
}
# The event kinds each file must produce (nothing falls through to "ignored").
EXPECTED_KINDS = {
    "account_update": {"recorded"},
    "call_connect": {"recorded"},
    "call_permission_update": {"inbound"},
    "call_status": {"recorded"},
    "call_terminate": {"recorded"},
    "callback_button": {"inbound"},
    "callback_selection": {"inbound"},
    "deleted_message": {"delete"},
    "edited_message": {"edit"},
    "flow_completion": {"inbound"},
    "message": {"inbound"},
    "message_status": {"status"},
    "outgoing_message": {"echo"},
    "system": {"system"},
    "template_category_update": {"template"},
    "template_components_update": {"template"},
    "template_quality_update": {"template"},
    "template_status_update": {"template"},
    "user_marketing_preferences": {"preference"},
}


def expected_event_count(body: dict[str, Any]) -> int:
    count = 0
    for entry in body["entry"]:
        for change in entry["changes"]:
            lists = ITEM_LISTS.get(change["field"], ())
            items = sum(len(change["value"].get(name, [])) for name in lists)
            count += items or 1
    return count


def payload_items(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        item
        for entry in body["entry"]
        for change in entry["changes"]
        for item in change["value"].get(name, [])
    ]


def test_the_corpus_is_complete() -> None:
    files = {name.split(":")[0] for name, _ in CASES}
    assert files == set(EXPECTED_KINDS)
    assert len(CASES) == 74


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_case_parses_without_loss(name: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    batch = parse_webhook(raw)

    assert len(batch.events) == expected_event_count(body)
    assert {e.kind for e in batch.events} <= EXPECTED_KINDS[name.split(":")[0]]
    assert not batch.of_kind("ignored")

    for msg in payload_items(body, "messages"):
        matching = [e for e in batch.events if getattr(e, "wa_message_id", None) == msg["id"]]
        assert matching, msg["id"]
    for status in payload_items(body, "statuses"):
        if status.get("type") == "call":
            continue
        updates = [e for e in batch.events if isinstance(e, StatusUpdate)]
        assert any(u.wa_message_id == status["id"] and u.status == status["status"] for u in updates)

    # Routing before the signature check, then the check itself.
    assert phone_number_ids(raw) == batch.phone_number_ids
    assert waba_ids(raw) == batch.waba_ids
    assert all(e.waba_id for e in batch.events)
    assert verify_signature(raw, sign(raw, "secret"), "secret")

    # Events survive a round trip as task payloads.
    again = WebhookBatch.model_validate_json(batch.model_dump_json())
    assert again == batch


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_repr_hides_personal_data(name: str, body: dict[str, Any]) -> None:
    batch = parse_webhook(json.dumps(body).encode())
    text = repr(batch)
    for secretish in ("972987654321", "Test Name", "Body Text", "US.13491208655302741918", "Hacker Way"):
        assert secretish not in text


def case(name: str) -> WebhookBatch:
    body = dict(CASES)[name]
    return parse_webhook(json.dumps(body).encode())


def only_inbound(name: str) -> InboundMessage:
    (event,) = case(name).events
    assert isinstance(event, InboundMessage)
    return event


def test_text_message() -> None:
    event = only_inbound("message:text")
    assert event.text == "Body Text"
    assert event.wa_message_id == "wamid.xyzxyz"
    assert event.phone_number_id == "1122334455667"
    assert event.sender.wa_id == "972987654321"
    assert event.sender.bsuid == "US.13491208655302741918"
    assert event.sender.parent_bsuid == "US.ENT.11815799212886844830"
    assert event.sender.profile_name == "Test Name"
    assert event.timestamp is not None and event.timestamp.year == 2023
    assert event.expects_reply and not event.needs_polite_reply


@pytest.mark.parametrize(
    ("name", "marker", "media_id"),
    [
        ("message:image", "[image]", "65463453"),
        ("message:video", "[video] caption", "765756756"),
        ("message:document", "[document] caption", "1234567890987654321"),
        ("message:audio", "[audio]", "1234567890987654321"),
        ("message:voice", "[voice message]", "1234567890987654321"),
        ("message:static_sticker", "[sticker]", "1234567890987654321"),
    ],
)
def test_media_keeps_its_id_and_shows_a_marker(name: str, marker: str, media_id: str) -> None:
    event = only_inbound(name)
    assert event.text == marker
    assert event.media is not None
    assert event.media.id == media_id
    assert event.media.mime_type


def test_document_filename_and_forwarding_are_kept() -> None:
    event = only_inbound("message:document")
    assert event.media is not None and event.media.filename == "filename.pdf"
    assert event.forwarded


@pytest.mark.parametrize(
    ("name", "text", "reply_id"),
    [
        ("callback_button:button", "title", "callback_data"),
        ("callback_button:quick_reply", "title", "callback_data"),
        ("callback_selection:callback", "title", "callback_data"),
        ("callback_selection:description", "title", "callback_data"),
    ],
)
def test_interactive_replies(name: str, text: str, reply_id: str) -> None:
    event = only_inbound(name)
    assert (event.text, event.reply_id) == (text, reply_id)
    assert event.expects_reply


def test_quick_reply_with_only_a_bsuid_on_the_message() -> None:
    event = only_inbound("callback_button:quick_reply_without_context")
    assert event.sender.bsuid == "US.13491208655302741918"
    assert event.sender.wa_id == "972987654321"


@pytest.mark.parametrize(
    "name", ["message:unsupported", "message:unsupported_with_type", "message:interactive_message_with_err"]
)
def test_unsupported_types_get_a_polite_reply(name: str) -> None:
    event = only_inbound(name)
    assert event.needs_polite_reply and event.expects_reply
    assert event.errors and event.errors[0].code in (131051, 131000)


@pytest.mark.parametrize(
    ("name", "text"),
    [("message:reaction", "[reaction 😮]"), ("message:unreaction_empty", "[reaction removed]")],
)
def test_reactions_are_stored_not_answered(name: str, text: str) -> None:
    event = only_inbound(name)
    assert event.text == text
    assert event.reaction_to == "wamid.yzxyzx="
    assert not event.expects_reply


def test_location_contacts_order_and_flows() -> None:
    location = only_inbound("message:chosen_location")
    assert location.location is not None and location.location.latitude == pytest.approx(37.4611978)
    assert location.text.startswith("[location] Facebook HQ")
    assert only_inbound("message:contacts").text.startswith("[contact card] Chandler Bing")
    assert only_inbound("message:order").text == "[order] 3 × HAMBURGER, 2 × FRENCH_FRIES, 2 × SODA"
    assert only_inbound("flow_completion:completion").subtype == "nfm_reply"
    assert not only_inbound("call_permission_update:accept").expects_reply


def test_reply_context_and_referral_kept() -> None:
    assert only_inbound("message:reply").context_id == "wamid.xyzxyz=="
    assert only_inbound("message:referral").raw["referral"]["ctwa_clid"] == "CTWA_CLID"


def test_statuses() -> None:
    (failed,) = case("message_status:failed").events
    assert isinstance(failed, StatusUpdate)
    assert failed.status == "failed" and failed.error_code == 130472
    assert failed.recipient.wa_id == "972987654321"
    (tracked,) = case("message_status:with_tracker").events
    assert isinstance(tracked, StatusUpdate) and tracked.callback_data == "some data"
    assert tracked.pricing_category == "service" and tracked.billable is True
    (group,) = case("message_status:group").events
    assert isinstance(group, StatusUpdate) and group.recipient_type == "group"


def test_echoes_are_takeovers_with_the_customer() -> None:
    (text,) = case("outgoing_message:text").events
    assert isinstance(text, Echo)
    assert text.text == "Test message"
    assert text.customer.wa_id == "<WHATSAPP_USER_PHONE_NUMBER>"
    assert text.customer.bsuid == "<BSUID>"
    (edit,) = case("outgoing_message:edit").events
    assert isinstance(edit, Echo)
    assert (edit.type, edit.text, edit.original_message_id) == ("edit", "Text was edited", "wamid.zzzzzz")
    # The business number appears as "to" here: the customer is the other side.
    assert edit.customer.wa_id == "972987654321"
    assert edit.customer.profile_name == "Test Name"
    (delete,) = case("outgoing_message:delete").events
    assert isinstance(delete, Echo) and delete.type == "revoke" and delete.text == ""


def test_edits_deletions_system_templates_preferences() -> None:
    (edit,) = case("edited_message:image").events
    assert edit.kind == "edit" and edit.type == "image" and edit.text == "[image] Updated image caption"
    (delete,) = case("deleted_message:revoke").events
    assert delete.kind == "delete" and delete.original_message_id == "<ORIGINAL_WHATSAPP_MESSAGE_ID>"
    (system,) = case("system:phone_number_change").events
    assert system.kind == "system" and system.new_wa_id == "972912345678"
    (template,) = case("template_status_update:rejected").events
    assert template.kind == "template" and template.status == "REJECTED" and template.name == "abandoned_cart"
    (preference,) = case("user_marketing_preferences:resume").events
    assert preference.kind == "preference" and preference.value == "resume"
    assert preference.contact.wa_id == "16505551234"
    (account,) = case("account_update:account_deleted").events
    assert account.kind == "recorded" and account.event == "ACCOUNT_DELETED"
