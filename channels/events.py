"""Typed, provider-neutral events parsed from WhatsApp webhooks (pydantic, tagged by ``kind``).

Personal data (phone numbers, names, message text, locations) is excluded from ``repr`` so an
event that ends up in a log line shows only ids, kinds and types. ``raw`` keeps the item as
Meta sent it, so nothing is lost; it is never shown in ``repr`` either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _raw() -> Any:
    return Field(default_factory=dict[str, Any], repr=False)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContactRef(_Model):
    """A customer as WhatsApp names them: phone-based ``wa_id`` and/or business-scoped ``bsuid``."""

    wa_id: str | None = Field(default=None, repr=False)
    bsuid: str | None = Field(default=None, repr=False)
    """``user_id`` in Meta's payloads (``US.1349...``); will replace phone numbers in future."""
    parent_bsuid: str | None = Field(default=None, repr=False)
    profile_name: str | None = Field(default=None, repr=False)
    username: str | None = Field(default=None, repr=False)

    @property
    def known(self) -> bool:
        """Whether there is any id to key the contact by."""
        return bool(self.wa_id or self.bsuid)


class ErrorInfo(_Model):
    """One entry of Meta's ``errors`` array."""

    code: int | None = None
    title: str | None = None
    details: str | None = None


class MediaRef(_Model):
    """A media attachment: keep the id (valid 7 days) and fetch it with the channel's token."""

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = Field(default=None, repr=False)
    filename: str | None = Field(default=None, repr=False)
    voice: bool = False
    animated: bool = False


class Location(_Model):
    latitude: float | None = Field(default=None, repr=False)
    longitude: float | None = Field(default=None, repr=False)
    name: str | None = Field(default=None, repr=False)
    address: str | None = Field(default=None, repr=False)
    url: str | None = Field(default=None, repr=False)


class _Routed(_Model):
    """Where an event came from: the business number (``phone_number_id``) and account."""

    field: str
    phone_number_id: str | None = None
    display_phone_number: str | None = Field(default=None, repr=False)
    waba_id: str | None = None


class InboundMessage(_Routed):
    """A customer's message. ``text`` is what the bot sees (markers such as ``[image]``)."""

    kind: Literal["inbound"] = "inbound"
    wa_message_id: str
    sender: ContactRef
    timestamp: datetime | None = None
    type: str
    subtype: str | None = None
    text: str = Field(default="", repr=False)
    reply_id: str | None = Field(default=None, repr=False)
    """The id of the chosen button or list row (or a quick-reply payload)."""
    media: MediaRef | None = None
    location: Location | None = None
    reaction_to: str | None = None
    context_id: str | None = None
    """The message this one replies to, if any."""
    forwarded: bool = False
    expects_reply: bool = True
    """False for reactions and call-permission answers: store them, do not run the bot."""
    needs_polite_reply: bool = False
    """An ``unsupported``/``unknown`` type: answer with :func:`channels.optout.unsupported_reply`."""
    errors: list[ErrorInfo] = Field(default_factory=list[ErrorInfo])
    raw: dict[str, Any] = _raw()


class MessageEdit(_Routed):
    """The customer edited an earlier message."""

    kind: Literal["edit"] = "edit"
    wa_message_id: str
    original_message_id: str | None
    sender: ContactRef
    timestamp: datetime | None = None
    type: str
    text: str = Field(default="", repr=False)
    media: MediaRef | None = None
    raw: dict[str, Any] = _raw()


class MessageDelete(_Routed):
    """The customer deleted an earlier message (``revoke``)."""

    kind: Literal["delete"] = "delete"
    wa_message_id: str
    original_message_id: str | None
    sender: ContactRef
    timestamp: datetime | None = None
    raw: dict[str, Any] = _raw()


class StatusUpdate(_Routed):
    """Delivery status of a message we sent; apply with :func:`channels.status.apply_status`."""

    kind: Literal["status"] = "status"
    wa_message_id: str
    status: str
    timestamp: datetime | None = None
    recipient: ContactRef
    recipient_type: str | None = None
    errors: list[ErrorInfo] = Field(default_factory=list[ErrorInfo])
    conversation_id: str | None = None
    pricing_category: str | None = None
    billable: bool | None = None
    callback_data: str | None = None
    """``biz_opaque_callback_data``: the idempotency key the sender attached."""
    raw: dict[str, Any] = _raw()

    @property
    def error_code(self) -> int | None:
        return self.errors[0].code if self.errors else None


class Echo(_Routed):
    """The business answered from the WhatsApp Business app (``smb_message_echoes``): takeover."""

    kind: Literal["echo"] = "echo"
    wa_message_id: str
    customer: ContactRef
    timestamp: datetime | None = None
    type: str
    text: str = Field(default="", repr=False)
    media: MediaRef | None = None
    original_message_id: str | None = None
    """For echoed edits and deletions: the message that was changed."""
    raw: dict[str, Any] = _raw()


class SystemEvent(_Routed):
    """A system message: the customer changed number (``new_wa_id``) or identity."""

    kind: Literal["system"] = "system"
    wa_message_id: str | None
    contact: ContactRef
    timestamp: datetime | None = None
    system_type: str | None = None
    new_wa_id: str | None = Field(default=None, repr=False)
    raw: dict[str, Any] = _raw()


class PreferenceUpdate(_Routed):
    """A marketing-preference change made in WhatsApp (``stop``, ``resume``, ``signup``)."""

    kind: Literal["preference"] = "preference"
    contact: ContactRef
    category: str | None = None
    value: str | None = None
    timestamp: datetime | None = None
    raw: dict[str, Any] = _raw()


class TemplateUpdate(_Routed):
    """A change to one of the account's templates: status, quality, category or components."""

    kind: Literal["template"] = "template"
    update: Literal["status", "quality", "category", "components"]
    template_id: str | None = None
    name: str | None = None
    language: str | None = None
    status: str | None = None
    category: str | None = None
    quality: str | None = None
    reason: str | None = None
    raw: dict[str, Any] = _raw()


class Recorded(_Routed):
    """An event kept for the record but not acted on (account updates, calls, errors)."""

    kind: Literal["recorded"] = "recorded"
    reason: str
    event: str | None = None
    raw: dict[str, Any] = _raw()


class Ignored(_Routed):
    """Something deliberately dropped, with the reason (unknown field, item without id...)."""

    kind: Literal["ignored"] = "ignored"
    reason: str
    raw: dict[str, Any] = _raw()


Event = Annotated[
    InboundMessage
    | MessageEdit
    | MessageDelete
    | StatusUpdate
    | Echo
    | SystemEvent
    | PreferenceUpdate
    | TemplateUpdate
    | Recorded
    | Ignored,
    Field(discriminator="kind"),
]


class WebhookBatch(_Model):
    """Everything one webhook POST carried, in order; one event per message, status or change."""

    object: str
    events: list[Event] = Field(default_factory=list[Event])

    @property
    def phone_number_ids(self) -> list[str]:
        """The distinct business numbers addressed, in order of appearance."""
        return list(dict.fromkeys(e.phone_number_id for e in self.events if e.phone_number_id))

    @property
    def waba_ids(self) -> list[str]:
        """The distinct WhatsApp Business Account ids (``entry[].id``), in order."""
        return list(dict.fromkeys(e.waba_id for e in self.events if e.waba_id))

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]
