"""SQLAlchemy models of the foundation. Every tenant table carries ``tenant_id``.

Primary keys are random 53-bit integers chosen in Python, so a row's id is known before it
is inserted (it is part of the associated data of its ciphertexts) and ids do not reveal how
many rows other tenants have. Encrypted columns end in ``_ciphertext``; read them through
:mod:`store.sealed`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("admin", "supervisor", "agent", "analyst")
PROVIDERS = ("openai", "anthropic", "gemini", "openai-compatible", "extractive")
CONVERSATION_MODES = ("bot", "human")

Id = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> int:
    """A random positive id that fits in a JavaScript number."""
    return secrets.randbits(53) or 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; ``encrypted_columns`` lists the columns :mod:`store.sealed` manages."""

    encrypted_columns: ClassVar[tuple[str, ...]] = ()
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


@event.listens_for(Base, "init", propagate=True)
def _assign_id(target: Base, _args: Any, kwargs: dict[str, Any]) -> None:
    """Give every new row its id at construction, so sealed values can be bound to it."""
    if "id" in target.__table__.c and kwargs.get("id") is None:
        kwargs["id"] = new_id()


def _id() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, default=new_id)


def _tenant() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow)


class Tenant(Base):
    """A business. ``settings`` holds non-secret configuration (timezone, hours, wording)."""

    __tablename__ = "tenants"
    id: Mapped[int] = _id()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = _created()
    settings_version: Mapped[int] = mapped_column(BigInteger, server_default="1")
    """Bumped by the database on every change to this row or the tenant's provider settings."""


class User(Base):
    """A person (or integration) with a role and a hashed API token."""

    __tablename__ = "users"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """The token is refused (401) from this moment; never when unset."""
    can_read_bodies: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Analysts see message bodies only with this grant (agents and supervisors always do)."""


class Channel(Base):
    """A WhatsApp business number connected by a tenant."""

    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "phone_number_id", name="uq_channels_tenant_number"),
        Index(
            "uq_channels_active_number",
            "phone_number_id",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )
    encrypted_columns = ("app_secret_ciphertext", "access_token_ciphertext", "verify_token_ciphertext")
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    phone_number_id: Mapped[str] = mapped_column(String(64))
    """Several tenants may have claimed a number; only one can have proven it (the active one)."""
    display_phone_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verify_token_ciphertext: Mapped[str] = mapped_column(Text)
    verify_token_digest: Mapped[str] = mapped_column(String(64), index=True)
    app_secret_ciphertext: Mapped[str] = mapped_column(Text)
    access_token_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    waba_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    """The WhatsApp Business Account: routes template and account webhooks (no number in them)."""
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the channel's own access token proved it owns this number and account
    (:mod:`channels.ownership`); unset: *pending*, no webhook is routed to it and nothing is sent."""
    verification_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Why the last proof could not be made (short, secret-free; never names another tenant)."""

    @property
    def status(self) -> str:
        """``active`` once proven, else ``pending``."""
        return "active" if self.verified_at is not None else "pending"


class ProviderSetting(Base):
    """The tenant's model provider; ``slot`` is ``primary`` or ``fallback``."""

    __tablename__ = "provider_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "slot"),)
    encrypted_columns = ("api_key_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    slot: Mapped[str] = mapped_column(String(10), default="primary")
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    base_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    base_url_trusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Set by the operator's CLI: the worker may call it even at a private address."""
    api_key_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    prices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = _created()
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Why the provider last failed a turn (short, secret-free); cleared by a good call or a new setting."""
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Contact(Base):
    """A customer of a tenant, keyed by WhatsApp id and/or business-scoped user id.

    Its personal data is sealed under its own data key (:mod:`store.keystore`)."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "wa_id_digest"),
        UniqueConstraint("tenant_id", "bsuid_digest"),
    )
    encrypted_columns = ("profile_name_ciphertext", "wa_id_ciphertext", "bsuid_ciphertext")
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    wa_id_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Blind index of the normalised number (:mod:`store.identity`); the number is never in clear."""
    wa_id_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    bsuid_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bsuid_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    profile_name_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opted_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = _created()
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A sandbox contact of ``frontdesk chat`` (no WhatsApp id: no webhook ever finds it)."""


class Conversation(Base):
    """One customer's thread with a tenant. ``epoch`` is bumped by takeover and handback."""

    __tablename__ = "conversations"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("channels.id", ondelete="SET NULL"), nullable=True
    )
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    lease_fence: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Highest lease fencing token seen; a worker's writes must carry it (see ``workers.drain``)."""
    assigned_agent_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A sandbox of ``frontdesk chat``: never drained by a worker, swept, or sent to WhatsApp."""


class Message(Base):
    """A message in or out. ``wa_message_id`` is unique per tenant (Meta delivers twice)."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("tenant_id", "wa_message_id"),)
    encrypted_columns = ("body_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(10))  # customer | bot | agent | system
    kind: Mapped[str] = mapped_column(String(32), default="text")
    body_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    wa_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = _created()
    turn_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The turn that consumed an inbound message; NULL means pending in the mailbox."""
    media_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """WhatsApp media id of an image, audio, video, document or sticker (valid 7 days)."""
    media_mime_type: Mapped[str | None] = mapped_column(String(128), nullable=True)


class OutboxItem(Base):
    """A reply waiting to be sent; written only while the conversation's epoch still matches."""

    __tablename__ = "outbox"
    encrypted_columns = ("body_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    epoch: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(10), default="bot")
    body_ciphertext: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wa_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    """``text``, or ``template``: the body is JSON ``{"name", "language", "params"}``."""


class AuditEntry(Base):
    """Append-only, HMAC-chained per tenant (``tenant_id`` NULL is the system chain)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True, index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = _created()
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The master key the entry's HMAC key derives from (NULL: not keyed, never valid)."""
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)


class VaultEntry(Base):
    """A placeholder of a conversation and the encrypted value it stands for."""

    __tablename__ = "vault_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "conversation_id", "placeholder"),
        UniqueConstraint("tenant_id", "conversation_id", "entity_type", "value_digest"),
    )
    encrypted_columns = ("value_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(Id, index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    placeholder: Mapped[str] = mapped_column(String(64))
    value_digest: Mapped[str] = mapped_column(String(64))
    value_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TurnRow(Base):
    """One worker run over a conversation's pending messages; ``id`` is conversation + first message."""

    __tablename__ = "turns"
    encrypted_columns = ("handoff_summary_ciphertext",)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="running")
    epoch: Mapped[int] = mapped_column(Integer)
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    handoff_summary_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkerLease(Base):
    """A lease held in the database when there is no Redis (embedded default)."""

    __tablename__ = "worker_leases"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MessageTemplate(Base):
    """A WhatsApp template of the tenant's registry (what may be sent outside the 24 h window)."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "language"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), default="UTILITY")
    status: Mapped[str] = mapped_column(String(32), default="PENDING")
    body_params: Mapped[int] = mapped_column(Integer, default=0)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    meta_template_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class ConversationNote(Base):
    """An internal note of the team on a conversation (never sent to the customer)."""

    __tablename__ = "conversation_notes"
    encrypted_columns = ("body_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    body_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class WebhookEvent(Base):
    """A webhook item kept for the record but not turned into a message (edits, calls, templates…).

    ``details`` holds metadata only; the item as Meta sent it is sealed in ``payload_ciphertext``.
    """

    __tablename__ = "webhook_events"
    encrypted_columns = ("payload_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    channel_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("channels.id", ondelete="SET NULL"), nullable=True
    )
    field: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    wa_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payload_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = _created()
    contact_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    """The customer the event is about, when known (its payload is then under their data key)."""
    subject_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    """Blind index of the customer's number named in the event (found by an erasure)."""


class EvalResult(Base):
    """One score of an evaluation run over a tenant's scenarios (metadata only)."""

    __tablename__ = "eval_results"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    run_name: Mapped[str] = mapped_column(String(200), index=True)
    scenario: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = _created()


class ConsentEvent(Base):
    """An opt-in, an opt-out, or the AI disclosure shown to a customer: when, how, in which words."""

    __tablename__ = "consent_events"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # opt_in | opt_out | disclosure
    source: Mapped[str] = mapped_column(String(32))  # keyword | api | agent | whatsapp_preferences
    wording: Mapped[str | None] = mapped_column(Text, nullable=True)
    """What the customer was shown (the tenant's words, never the customer's)."""
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    at: Mapped[datetime] = _created()


class TraceErasure(Base):
    """A queued deletion of traces in the tenant's Langfuse project: an erased customer's
    (by session and user hash) or, for retention, those older than ``older_than``.

    Holds pseudonymous ids only (Langfuse session ids and user hashes), never a number."""

    __tablename__ = "trace_erasures"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    session_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    older_than: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Retention: every trace of the project that started before this (not one customer's)."""
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = _created()
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deleted_traces: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


TENANT_TABLES = (
    "users",
    "channels",
    "provider_settings",
    "contacts",
    "conversations",
    "messages",
    "outbox",
    "audit_log",
    "vault_entries",
    "turns",
    "message_templates",
    "conversation_notes",
    "webhook_events",
    "eval_results",
    "consent_events",
    "trace_erasures",
)


class TenantTracing(Base):
    """A tenant's own Langfuse project (its traces go there instead of the global project)."""

    __tablename__ = "tenant_tracing"
    encrypted_columns = ("secret_key_ciphertext",)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = mapped_column(Id, ForeignKey("tenants.id", ondelete="CASCADE"), unique=True)
    public_key: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    secret_key_ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = _created()
