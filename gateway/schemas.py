"""Request and response bodies of the REST API. Secrets are accepted, never returned."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from errors import UserError
from store.repo.channels import validate as validate_channel
from textnorm import Language

MAX_ID = 2**53
"""Row ids are random 53-bit integers (:func:`store.models.new_id`)."""
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Role = Literal["admin", "supervisor", "agent", "analyst"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- channels ------------------------------------------------------------------------------------


class ChannelIn(_In):
    """Checked by ``store.repo.channels.validate``, the same check as ``frontdesk channels add``."""

    phone_number_id: str = Field(description="Meta's phone number id (digits).")
    verify_token: str = Field(description="Write-only; 8-500 characters.")
    app_secret: str = Field(description="Write-only; 8-500 characters.")
    access_token: str = Field(description="Write-only; 8-4000 characters.")
    display_phone_number: str | None = Field(default=None, description="At most 32 characters.")
    waba_id: str | None = Field(default=None, description="The WhatsApp Business Account id (digits).")

    @model_validator(mode="after")
    def _valid(self) -> ChannelIn:
        try:
            validate_channel(**self.model_dump())
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return self


class ChannelOut(BaseModel):
    id: int
    phone_number_id: str
    display_phone_number: str | None
    waba_id: str | None
    created_at: datetime
    status: Literal["active", "pending"] = Field(
        description="active once the access token proved it owns the number and account; pending: "
        "no webhook is routed to it and nothing is sent from it"
    )
    verified_at: datetime | None = None
    verification_error: str | None = Field(default=None, description="Why the last proof failed (short).")


# --- provider --------------------------------------------------------------------------------------


class ProviderIn(_In):
    provider: Literal["openai", "anthropic", "gemini", "openai-compatible", "extractive"]
    model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key: str | None = Field(
        default=None, min_length=1, max_length=1000, description="Write-only; omit to keep the current key."
    )


class ProviderOut(BaseModel):
    slot: str
    provider: str
    model: str | None
    base_url: str | None
    api_key_set: bool
    last_error: str | None = None
    """Why the provider last failed a turn (e.g. ``provider rejected the API key (401)``)."""
    last_error_at: datetime | None = None


# --- knowledge ------------------------------------------------------------------------------------


class DocumentOut(BaseModel):
    id: int
    title: str
    source_name: str
    format: str
    language: str
    size_bytes: int
    pages: int
    chunks: int


class IngestOut(BaseModel):
    document_id: int
    status: str
    title: str
    format: str
    language: str
    chunks: int
    pages: int
    flagged: int = 0
    """Passages that look like instructions to the assistant: never given to the model."""


# --- templates ------------------------------------------------------------------------------------


class TemplateIn(_In):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
    category: Literal["MARKETING", "UTILITY", "AUTHENTICATION"] = "UTILITY"
    status: Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL"] = "PENDING"
    body_params: int = Field(default=0, ge=0, le=100)
    purposes: list[str] = Field(default_factory=list[str], max_length=20)

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: list[str]) -> list[str]:
        for purpose in value:
            if not re.match(r"^[a-z0-9_.-]{1,64}$", purpose):
                raise ValueError("a purpose is 1-64 characters of a-z, 0-9, _ . -")
        return value


class TemplateOut(BaseModel):
    id: int
    name: str
    language: str
    category: str
    status: str
    body_params: int
    purposes: list[str]
    updated_at: datetime


# --- settings -------------------------------------------------------------------------------------


class HoursIn(_In):
    timezone: str = Field(default="UTC", max_length=64)
    opening_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict[str, list[tuple[str, str]]])
    holidays: list[str] = Field(default_factory=list[str], max_length=400)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name such as Europe/Madrid)") from None
        return value

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"weekdays are {', '.join(WEEKDAYS)}")
            if len(spans) > 10:
                raise ValueError("at most 10 opening spans per day")
            for start, end in spans:
                if not (_HHMM.match(start) and _HHMM.match(end)) or start >= end:
                    raise ValueError("spans are [HH:MM, HH:MM] with the opening before the closing")
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        for day in value:
            if not _DATE.match(day):
                raise ValueError("holidays are YYYY-MM-DD")
        return value


class HandoffIn(_In):
    handoff_keywords: list[str] = Field(
        max_length=200,
        description="Added to the default keywords, unless the request asks to replace them (?replace=true).",
    )
    max_misses: int = Field(default=2, ge=0, le=20)

    @field_validator("handoff_keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value]
        if any(not k or len(k) > 100 for k in cleaned):
            raise ValueError("keywords are 1-100 characters")
        return cleaned


MessageKindName = Literal["disclosure", "handoff", "handoff_closed", "fallback"]


class ProfileIn(_In):
    """The receptionist's persona and wording. Omitted fields keep their value; ``null`` resets
    one to its default. ``messages`` overrides wording per kind and language (``null``: default)."""

    business_name: str | None = Field(default=None, min_length=1, max_length=200)
    persona: str | None = Field(default=None, min_length=1, max_length=500)
    tone: str | None = Field(default=None, min_length=1, max_length=200)
    rules: list[str] | None = Field(default=None, max_length=50)
    default_language: Language | None = None
    messages: dict[MessageKindName, dict[Language, str | None]] | None = Field(
        default=None,
        description='e.g. {"disclosure": {"es": "…"}, "handoff_closed": {"en": "… {when} …"}}',
    )

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not r.strip() or len(r) > 500 for r in value):
            raise ValueError("rules are 1-500 characters each")
        return [r.strip() for r in value] if value is not None else None

    @field_validator("messages")
    @classmethod
    def _messages(
        cls, value: dict[str, dict[str, str | None]] | None
    ) -> dict[str, dict[str, str | None]] | None:
        for kind, texts in (value or {}).items():
            for text in texts.values():
                if text is not None and not 1 <= len(text.strip()) <= 1000:
                    raise ValueError("a message is 1-1000 characters")
                if text is not None and kind == "handoff_closed" and "{when}" not in text:
                    raise ValueError("the handoff_closed message needs {when} (when the team is back)")
        return value


class ProfileOut(BaseModel):
    business_name: str
    persona: str
    tone: str
    rules: list[str]
    default_language: str
    messages: dict[str, dict[str, str]] = Field(description="The tenant's own wording (defaults not shown).")


# --- users ----------------------------------------------------------------------------------------


class UserIn(_In):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    can_read_bodies: bool = False
    expires_at: AwareDatetime | None = Field(
        default=None, description="The token is refused (401) from this moment; never expires if unset."
    )


class UserPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    disabled: bool | None = None
    can_read_bodies: bool | None = None
    unlock: bool = False


class UserOut(BaseModel):
    id: int
    name: str
    role: str
    disabled: bool
    can_read_bodies: bool
    token_prefix: str
    locked_until: datetime | None = Field(
        description="Wrong tokens claiming this prefix are refused until then (the right token never is)."
    )
    last_used_at: datetime | None
    created_at: datetime
    expires_at: datetime | None = None


class NewUserOut(UserOut):
    token: str = Field(description="Shown once; store it now.")


# --- audit ----------------------------------------------------------------------------------------


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditOut]
    next_after_seq: int | None


class ChainProblemOut(BaseModel):
    seq: int | None
    kind: str
    detail: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    head: str
    problems: list[ChainProblemOut]


# --- conversations --------------------------------------------------------------------------------


class ContactOut(BaseModel):
    id: int
    wa_id: str | None
    name: str | None
    opted_out: bool


class ConversationOut(BaseModel):
    id: int
    mode: str
    epoch: int
    assigned_agent_id: int | None
    last_customer_message_at: datetime | None
    window_open: bool
    window_closes_at: datetime | None
    updated_at: datetime
    contact: ContactOut
    test: bool
    """A sandbox of ``frontdesk chat``: nothing in it reaches WhatsApp."""


class HandoffOut(BaseModel):
    reason: str
    summary: str = Field(description="What the customer wants, facts given, what the bot already said.")
    at: datetime | None


class ConversationDetailOut(ConversationOut):
    handoff: HandoffOut | None = Field(description="The latest handoff to humans, if the bot handed over.")
    unanswered: int = Field(description="Customer messages since the last message to the customer.")


class MessageOut(BaseModel):
    id: int
    direction: str
    author: str
    kind: str
    body: str | None
    media_id: str | None
    status: str
    error_code: str | None
    created_at: datetime


class TemplateRef(_In):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
    params: list[str] = Field(default_factory=list[str], max_length=100)


class ReplyIn(_In):
    text: str | None = Field(default=None, min_length=1, max_length=4096)
    template: TemplateRef | None = None


class ReplyOut(BaseModel):
    outbox_id: int
    kind: str
    status: str


class ModeOut(BaseModel):
    conversation_id: int
    mode: str
    epoch: int
    assigned_agent_id: int | None
    cancelled_outbox: int


class NoteIn(_In):
    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: int
    author_id: int | None
    body: str
    created_at: datetime


class AssignIn(_In):
    agent_id: int | None = Field(ge=1, le=MAX_ID)


# --- analytics ------------------------------------------------------------------------------------


class RunOut(BaseModel):
    id: str
    conversation_id: int
    status: str
    epoch: int
    attempts: int
    message_count: int
    started_at: datetime
    finished_at: datetime | None
    last_error: str | None
    trace_url: str | None


class RunMessageOut(BaseModel):
    id: int
    kind: str
    created_at: datetime
    body: str | None = Field(description="Only for users granted can_read_bodies.")


class RunDetailOut(RunOut):
    messages: list[RunMessageOut]
    handoff_summary: str | None


class EvalOut(BaseModel):
    """One score of a tenant's eval run (``frontdesk eval run --tenant``): metadata only."""

    id: int
    run_name: str
    scenario: str
    metric: str
    score: float | None
    passed: bool | None
    trace_id: str | None
    trace_url: str | None = None
    suite: str | None = None
    provider: str | None = None
    family: str | None = None
    status: str | None = None
    failing_checks: list[str] = Field(default_factory=list[str])
    created_at: datetime
