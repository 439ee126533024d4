"""Parse WhatsApp Cloud API webhook bodies into typed events.

Order of work in the gateway (``gateway/webhook.py``): :func:`decode` the body, read the first
few addressed numbers with :func:`phone_number_ids` to find their channels' app secret,
:func:`channels.signature.verify_signature`, and only a signed body is parsed
(:func:`parse_payload`) and has the rest of its numbers looked up.
Only the envelope is strict (JSON object, ``entry`` list, ``changes`` with ``field`` and
``value``): a problem there raises :class:`MalformedWebhook` (answer 400). Inside, every
message, status or change becomes exactly one event; items we cannot use become ``Ignored``
with the reason, so one odd item never makes Meta retry the whole batch for days.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from channels.errors import MalformedWebhook
from channels.events import (
    ContactRef,
    Echo,
    ErrorInfo,
    Event,
    Ignored,
    InboundMessage,
    Location,
    MediaRef,
    MessageDelete,
    MessageEdit,
    PreferenceUpdate,
    Recorded,
    StatusUpdate,
    SystemEvent,
    TemplateUpdate,
    WebhookBatch,
)

MAX_BODY_BYTES = 3 * 1024 * 1024
WABA_OBJECT = "whatsapp_business_account"

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
UNSUPPORTED_TYPES = ("unsupported", "unknown")
TemplateUpdateKind = Literal["status", "quality", "category", "components"]
TEMPLATE_FIELDS: dict[str, TemplateUpdateKind] = {
    "message_template_status_update": "status",
    "message_template_quality_update": "quality",
    "template_category_update": "category",
    "message_template_components_update": "components",
}
RECORDED_FIELDS = (
    "account_update",
    "account_alerts",
    "account_review_update",
    "business_capability_update",
    "phone_number_name_update",
    "phone_number_quality_update",
    "security",
    "history",
    "smb_app_state_sync",
    "calls",
)

Json = dict[str, Any]


# --- envelope ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def decode(body: bytes) -> Json:
    """The JSON object of a webhook body; :class:`MalformedWebhook` if too big or not an object."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedWebhook(f"webhook body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise MalformedWebhook("webhook body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedWebhook("webhook body must be a JSON object")
    return cast(Json, data)


def _entries(data: Json) -> list[tuple[str | None, list[Json]]]:
    """``(waba id, changes)`` per entry, checking the envelope's shape."""
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise MalformedWebhook("webhook body has no 'entry' list")
    result: list[tuple[str | None, list[Json]]] = []
    for position, entry in enumerate(cast(list[Any], entries)):
        if not isinstance(entry, dict):
            raise MalformedWebhook(f"entry #{position} is not an object")
        entry = cast(Json, entry)
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise MalformedWebhook(f"entry #{position} has no 'changes' list")
        checked: list[Json] = []
        for number, change in enumerate(cast(list[Any], changes)):
            if (
                not isinstance(change, dict)
                or not isinstance(change.get("field"), str)
                or not isinstance(change.get("value"), dict)
            ):
                raise MalformedWebhook(f"entry #{position} change #{number} needs a 'field' and a 'value'")
            checked.append(cast(Json, change))
        result.append((_str(entry, "id"), checked))
    return result


def phone_number_ids(body: bytes | Json | WebhookBatch) -> list[str]:
    """The business numbers (``metadata.phone_number_id``) a webhook addresses, before any check.

    Use it on the raw body (or on :func:`decode`'s result, to decode once and then call
    :func:`parse_payload`) to find the channel whose app secret verifies the signature.
    Template and account updates carry none: route those by :func:`waba_ids`.
    """
    if isinstance(body, WebhookBatch):
        return body.phone_number_ids
    data = decode(body) if isinstance(body, bytes) else body
    if data.get("object") != WABA_OBJECT:
        return []
    found: dict[str, None] = {}
    for _waba, changes in _entries(data):
        for change in changes:
            metadata = _dict(change["value"], "metadata")
            pnid = _str(metadata, "phone_number_id")
            if pnid:
                found[pnid] = None
    return list(found)


def waba_ids(body: bytes | Json | WebhookBatch) -> list[str]:
    """The WhatsApp Business Account ids (``entry[].id``) of a webhook."""
    if isinstance(body, WebhookBatch):
        return body.waba_ids
    data = decode(body) if isinstance(body, bytes) else body
    if data.get("object") != WABA_OBJECT:
        return []
    return list(dict.fromkeys(w for w, _ in _entries(data) if w))


def parse_webhook(body: bytes) -> WebhookBatch:
    """All events of a webhook body, in order. Raises :class:`MalformedWebhook` (answer 400)."""
    return parse_payload(decode(body))


def parse_payload(data: Json) -> WebhookBatch:
    """Like :func:`parse_webhook`, for an already decoded JSON object."""
    obj = data.get("object")
    if obj != WABA_OBJECT:
        reason = "not a WhatsApp Business Account webhook"
        return WebhookBatch(object=str(obj)[:64], events=[Ignored(field="", reason=reason)])
    events: list[Event] = []
    for waba_id, changes in _entries(data):
        for change in changes:
            events.extend(_parse_change(waba_id, change["field"], change["value"]))
    return WebhookBatch(object=WABA_OBJECT, events=events)


# --- small readers ------------------------------------------------------------------------------


def _str(data: Json, key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(data: Json, key: str) -> Json:
    value = data.get(key)
    return cast(Json, value) if isinstance(value, dict) else {}


def _items(data: Json, key: str) -> list[Any]:
    value = data.get(key)
    return cast(list[Any], value) if isinstance(value, list) else []


def _float(data: Json, key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _timestamp(data: Json, key: str = "timestamp") -> datetime | None:
    value = data.get(key)
    try:
        seconds = int(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def _errors(data: Json) -> list[ErrorInfo]:
    result: list[ErrorInfo] = []
    for item in _items(data, "errors"):
        if isinstance(item, dict):
            item = cast(Json, item)
            code = item.get("code")
            result.append(
                ErrorInfo(
                    code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                    title=_str(item, "title") or _str(item, "message"),
                    details=_str(_dict(item, "error_data"), "details"),
                )
            )
    return result


# --- one change ---------------------------------------------------------------------------------


@dataclass
class _Change:
    """The routing data of one change and its ``contacts`` index (by wa_id and user_id)."""

    field: str
    waba_id: str | None
    phone_number_id: str | None
    display_phone_number: str | None
    contacts: dict[str, Json] = dataclasses.field(default_factory=dict[str, Json])
    errors: list[ErrorInfo] = dataclasses.field(default_factory=list[ErrorInfo])
    """Errors Meta attached to the whole change (e.g. a payload it could not render)."""

    def route(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "waba_id": self.waba_id,
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
        }

    def contact(self, wa_id: str | None, bsuid: str | None, parent: str | None = None) -> ContactRef:
        """Merge the ids seen on an item with the change's ``contacts`` entry for that person."""
        entry = (
            (bsuid and self.contacts.get("u:" + bsuid)) or (wa_id and self.contacts.get("w:" + wa_id)) or {}
        )
        profile = _dict(entry, "profile")
        return ContactRef(
            wa_id=wa_id or _str(entry, "wa_id"),
            bsuid=bsuid or _str(entry, "user_id"),
            parent_bsuid=parent or _str(entry, "parent_user_id"),
            profile_name=_str(profile, "name"),
            username=_str(profile, "username"),
        )


def _parse_change(waba_id: str | None, field_name: str, value: Json) -> list[Event]:
    metadata = _dict(value, "metadata")
    change = _Change(
        field_name,
        waba_id,
        _str(metadata, "phone_number_id"),
        _str(metadata, "display_phone_number"),
        errors=_errors(value),
    )
    for item in _items(value, "contacts"):
        if isinstance(item, dict):
            item = cast(Json, item)
            for prefix, key in (("w:", "wa_id"), ("u:", "user_id")):
                ident = _str(item, key)
                if ident:
                    change.contacts[prefix + ident] = item
    route = change.route()
    if field_name == "messages":
        events = [_message(change, m) for m in _items(value, "messages")]
        events += [_status(change, s) for s in _items(value, "statuses")]
        if events:
            return events
        return [Recorded(**route, reason="messages change without messages or statuses", raw=value)]
    if field_name == "smb_message_echoes":
        events = [_echo(change, m) for m in _items(value, "message_echoes")]
        return events or [Ignored(**route, reason="echo change without message_echoes", raw=value)]
    if field_name == "user_preferences":
        events = [_preference(change, p) for p in _items(value, "user_preferences")]
        return events or [Ignored(**route, reason="preference change without user_preferences", raw=value)]
    if field_name in TEMPLATE_FIELDS:
        return [_template(change, TEMPLATE_FIELDS[field_name], value)]
    if field_name == "calls":
        items = _items(value, "calls") + _items(value, "statuses")
        reason = "calls are not handled; recorded for the operator"
        if not items:
            return [Recorded(**route, reason=reason, raw=value)]
        return [Recorded(**route, reason=reason, event=_call_event(i), raw=_as_json(i)) for i in items]
    if field_name in RECORDED_FIELDS:
        return [
            Recorded(
                **route,
                reason=f"{field_name} is recorded, not acted on",
                event=_str(value, "event"),
                raw=value,
            )
        ]
    return [Ignored(**route, reason=f"unsupported webhook field {field_name[:64]!r}", raw=value)]


def _as_json(item: Any) -> Json:
    return cast(Json, item) if isinstance(item, dict) else {"value": item}


def _call_event(item: Any) -> str | None:
    data = _as_json(item)
    return _str(data, "event") or _str(data, "status")


# --- message content ------------------------------------------------------------------------------


@dataclass
class _Content:
    type: str
    text: str = ""
    subtype: str | None = None
    reply_id: str | None = None
    media: MediaRef | None = None
    location: Location | None = None
    reaction_to: str | None = None
    expects_reply: bool = True
    needs_polite_reply: bool = False


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _content(msg: Json) -> _Content:
    """What the bot should see for a message body of any type."""
    kind = _str(msg, "type") or "unknown"
    body = _dict(msg, kind)
    if kind == "text":
        return _Content(kind, text=_str(body, "body") or "")
    if kind in MEDIA_TYPES:
        voice = body.get("voice") is True
        media = MediaRef(
            id=_str(body, "id"),
            mime_type=_str(body, "mime_type"),
            sha256=_str(body, "sha256"),
            caption=_str(body, "caption"),
            filename=_str(body, "filename"),
            voice=voice,
            animated=body.get("animated") is True,
        )
        marker = "[voice message]" if voice else f"[{kind}]"
        return _Content(kind, text=_join(marker, media.caption), media=media)
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":
        return _Content(kind, text=_str(body, "text") or "", reply_id=_str(body, "payload"))
    if kind == "location":
        location = Location(
            latitude=_float(body, "latitude"),
            longitude=_float(body, "longitude"),
            name=_str(body, "name"),
            address=_str(body, "address"),
            url=_str(body, "url"),
        )
        place = ", ".join(p for p in (location.name, location.address) if p)
        return _Content(kind, text=_join("[location]", place), location=location)
    if kind == "contacts":
        names = [
            _str(_dict(cast(Json, c), "name"), "formatted_name")
            for c in _items(msg, "contacts")
            if isinstance(c, dict)
        ]
        return _Content(kind, text=_join("[contact card]", "; ".join(n for n in names if n)))
    if kind == "reaction":
        emoji = _str(body, "emoji")
        text = f"[reaction {emoji}]" if emoji else "[reaction removed]"
        return _Content(kind, text=text, reaction_to=_str(body, "message_id"), expects_reply=False)
    if kind == "order":
        lines: list[str] = []
        for item in _items(body, "product_items"):
            if isinstance(item, dict):
                item = cast(Json, item)
                lines.append(f"{_str(item, 'quantity') or '?'} × {_str(item, 'product_retailer_id') or '?'}")
        return _Content(kind, text=_join("[order]", ", ".join(lines), _str(body, "text")))
    if kind == "request_welcome":  # the customer opened the chat for the first time
        return _Content(kind, text="[conversation opened]")
    return _Content(kind, text="[unsupported message]", needs_polite_reply=True)


def _interactive(body: Json) -> _Content:
    subtype = _str(body, "type")
    reply = _dict(body, subtype) if subtype else {}
    if subtype in ("button_reply", "list_reply"):
        return _Content(
            "interactive", subtype=subtype, text=_str(reply, "title") or "", reply_id=_str(reply, "id")
        )
    if subtype == "nfm_reply":
        return _Content("interactive", subtype=subtype, text="[form submitted]")
    if subtype == "call_permission_reply":
        response = _str(reply, "response") or "unknown"
        return _Content(
            "interactive", subtype=subtype, text=f"[call permission: {response}]", expects_reply=False
        )
    return _Content("interactive", subtype=subtype, text="[unsupported message]", needs_polite_reply=True)


# --- items ------------------------------------------------------------------------------------


def _message(change: _Change, item: Any) -> Event:
    route = change.route()
    if not isinstance(item, dict):
        return Ignored(**route, reason="message is not an object", raw=_as_json(item))
    msg = cast(Json, item)
    wa_message_id = _str(msg, "id")
    sender = change.contact(_str(msg, "from"), _str(msg, "from_user_id"), _str(msg, "from_parent_user_id"))
    timestamp = _timestamp(msg)
    kind = _str(msg, "type")
    if kind == "system":
        system = _dict(msg, "system")
        return SystemEvent(
            **route,
            wa_message_id=wa_message_id,
            contact=sender,
            timestamp=timestamp,
            system_type=_str(system, "type"),
            new_wa_id=_str(system, "wa_id"),
            raw=msg,
        )
    if not wa_message_id:
        return Ignored(**route, reason="message without id", raw=msg)
    if kind == "revoke":
        original = _str(_dict(msg, "revoke"), "original_message_id")
        return MessageDelete(
            **route,
            wa_message_id=wa_message_id,
            original_message_id=original,
            sender=sender,
            timestamp=timestamp,
            raw=msg,
        )
    if kind == "edit":
        edit = _dict(msg, "edit")
        content = _content(_dict(edit, "message"))
        return MessageEdit(
            **route,
            wa_message_id=wa_message_id,
            original_message_id=_str(edit, "original_message_id"),
            sender=sender,
            timestamp=timestamp,
            type=content.type,
            text=content.text,
            media=content.media,
            raw=msg,
        )
    content = _content(msg)
    context = _dict(msg, "context")
    return InboundMessage(
        **route,
        wa_message_id=wa_message_id,
        sender=sender,
        timestamp=timestamp,
        type=content.type,
        subtype=content.subtype,
        text=content.text,
        reply_id=content.reply_id,
        media=content.media,
        location=content.location,
        reaction_to=content.reaction_to,
        context_id=_str(context, "id"),
        forwarded=context.get("forwarded") is True or context.get("frequently_forwarded") is True,
        expects_reply=content.expects_reply,
        needs_polite_reply=content.needs_polite_reply,
        errors=_errors(msg) or change.errors,
        raw=msg,
    )


def _status(change: _Change, item: Any) -> Event:
    route = change.route()
    if not isinstance(item, dict):
        return Ignored(**route, reason="status is not an object", raw=_as_json(item))
    data = cast(Json, item)
    wa_message_id = _str(data, "id")
    status = (_str(data, "status") or "").lower()
    if not wa_message_id or not status:
        return Ignored(**route, reason="status without message id or status", raw=data)
    pricing = _dict(data, "pricing")
    billable = pricing.get("billable")
    return StatusUpdate(
        **route,
        wa_message_id=wa_message_id,
        status=status,
        timestamp=_timestamp(data),
        recipient=change.contact(
            _str(data, "recipient_id"),
            _str(data, "recipient_user_id"),
            _str(data, "recipient_parent_user_id"),
        ),
        recipient_type=_str(data, "recipient_type"),
        errors=_errors(data),
        conversation_id=_str(_dict(data, "conversation"), "id"),
        pricing_category=_str(pricing, "category"),
        billable=billable if isinstance(billable, bool) else None,
        callback_data=_str(data, "biz_opaque_callback_data"),
        raw=data,
    )


def _echo(change: _Change, item: Any) -> Event:
    route = change.route()
    if not isinstance(item, dict):
        return Ignored(**route, reason="echo is not an object", raw=_as_json(item))
    msg = cast(Json, item)
    wa_message_id = _str(msg, "id")
    if not wa_message_id:
        return Ignored(**route, reason="echo without id", raw=msg)
    to, sender = _str(msg, "to"), _str(msg, "from")
    business = change.display_phone_number
    # The customer is the recipient; some payloads name the business as ``to``: take ``from`` then.
    customer_wa_id = sender if business and to == business and sender != business else to
    customer = change.contact(customer_wa_id, _str(msg, "to_user_id"), _str(msg, "to_parent_user_id"))
    kind = _str(msg, "type") or "unknown"
    original: str | None = None
    if kind in ("revoke", "edit"):
        original = _str(_dict(msg, kind), "original_message_id")
    content = _content(_dict(_dict(msg, "edit"), "message") if kind == "edit" else msg)
    return Echo(
        **route,
        wa_message_id=wa_message_id,
        customer=customer,
        timestamp=_timestamp(msg),
        type=kind,
        text="" if kind == "revoke" else content.text,
        media=content.media,
        original_message_id=original,
        raw=msg,
    )


def _preference(change: _Change, item: Any) -> Event:
    route = change.route()
    if not isinstance(item, dict):
        return Ignored(**route, reason="preference is not an object", raw=_as_json(item))
    data = cast(Json, item)
    return PreferenceUpdate(
        **route,
        contact=change.contact(_str(data, "wa_id"), _str(data, "user_id"), _str(data, "parent_user_id")),
        category=_str(data, "category"),
        value=(_str(data, "value") or "").lower() or None,
        timestamp=_timestamp(data),
        raw=data,
    )


def _template(change: _Change, update: TemplateUpdateKind, value: Json) -> Event:
    status = _str(value, "event")
    category = _str(value, "new_category") or _str(value, "message_template_category")
    return TemplateUpdate(
        **change.route(),
        update=update,
        template_id=_str(value, "message_template_id"),
        name=_str(value, "message_template_name"),
        language=_str(value, "message_template_language"),
        status=status.upper() if status else None,
        category=category.upper() if category else None,
        quality=_str(value, "new_quality_score"),
        reason=_str(value, "reason"),
        raw=value,
    )
