"""The per-conversation vault: which placeholder stands for which value, until when.

``Vault`` is the small interface the redactor needs; ``InMemoryVault`` serves one process (the
``frontdesk redact`` stream, unit tests); ``agent.redaction.sql_vault.SqlVault`` keeps entries
encrypted in the store's ``vault_entries`` table. Values are wrapped in ``SecretValue`` so they
never show up in a repr, a log line or an exception message.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from store.crypto import Secret

DEFAULT_TTL = timedelta(days=30)
PLACEHOLDER_RE = re.compile(r"<\s*([A-Za-z][A-Za-z_]*?)_(\d{1,6})\s*>")


SecretValue = Secret
"""A personal value that prints as ``***``; read it with ``reveal()`` (the store's :class:`Secret`)."""


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which conversation a vault entry belongs to."""

    tenant_id: int
    conversation_id: int


@dataclass(frozen=True, slots=True)
class VaultItem:
    """One placeholder of a conversation and the (secret) value it stands for."""

    placeholder: str
    entity_type: str
    value: SecretValue


class Vault(Protocol):
    """Placeholder ↔ value mapping per conversation, with an expiry."""

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        """The conversation's placeholder for ``value``: the existing one, or the next free number.

        Concurrent calls with the same new value get the same placeholder; different values
        never share one.
        """
        ...

    def items(self, conversation: ConversationKey) -> Sequence[VaultItem]:
        """All unexpired entries of the conversation."""
        ...

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired entries; returns how many."""
        ...


def canonical_value(entity_type: str, value: str) -> str:
    """The form a value is stored and restored in: names and addresses as written (spacing
    collapsed), e-mails as written, phones as ``+`` and digits, other identifiers as upper-case
    letters and digits ("ES91 2100 …" and "es9121…" are one IBAN)."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if entity_type in ("PERSON", "STREET_ADDRESS", "EMAIL_ADDRESS"):
        return text
    compact = "".join(ch for ch in text if ch.isalnum()).upper()
    if entity_type == "PHONE_NUMBER" and text.startswith(("+", "00")):
        return "+" + (compact[2:] if text.startswith("00") else compact)
    return compact


def normalize_value(entity_type: str, value: str) -> str:
    """The key two mentions of one value share: the canonical value, case-folded (the same
    rule as ``store.vault.normalize_value`` applied to the canonical value)."""
    return " ".join(canonical_value(entity_type, value).casefold().split())


def placeholder_for(entity_type: str, number: int) -> str:
    return f"<{entity_type}_{number}>"


def placeholder_number(placeholder: str) -> int:
    match = PLACEHOLDER_RE.fullmatch(placeholder)
    return int(match.group(2)) if match else 0


@dataclass(slots=True)
class _Entry:
    item: VaultItem
    expires_at: datetime


@dataclass(slots=True)
class _Conversation:
    by_value: dict[tuple[str, str], _Entry] = field(default_factory=dict[tuple[str, str], _Entry])
    next_number: dict[str, int] = field(default_factory=dict[str, int])


class InMemoryVault:
    """A thread-safe vault in process memory (lost at exit)."""

    def __init__(self, ttl: timedelta = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._conversations: dict[ConversationKey, _Conversation] = {}

    def __repr__(self) -> str:
        return f"InMemoryVault(conversations={len(self._conversations)})"

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        key = (entity_type, normalize_value(entity_type, value))
        now = datetime.now(UTC)
        with self._lock:
            conv = self._conversations.setdefault(conversation, _Conversation())
            entry = conv.by_value.get(key)
            if entry is not None:
                entry.expires_at = now + self.ttl
                return entry.item.placeholder
            number = conv.next_number.get(entity_type, 0) + 1
            conv.next_number[entity_type] = number
            stored = SecretValue(canonical_value(entity_type, value))
            item = VaultItem(placeholder_for(entity_type, number), entity_type, stored)
            conv.by_value[key] = _Entry(item, now + self.ttl)
            return item.placeholder

    def items(self, conversation: ConversationKey) -> list[VaultItem]:
        now = datetime.now(UTC)
        with self._lock:
            conv = self._conversations.get(conversation)
            if conv is None:
                return []
            return [e.item for e in conv.by_value.values() if e.expires_at > now]

    def purge_expired(self, now: datetime | None = None) -> int:
        moment = now or datetime.now(UTC)
        removed = 0
        with self._lock:
            for key, conv in list(self._conversations.items()):
                for value_key, entry in list(conv.by_value.items()):
                    if entry.expires_at <= moment:
                        del conv.by_value[value_key]
                        removed += 1
                if not conv.by_value:
                    # Numbers restart only once nothing of the conversation is left to confuse.
                    del self._conversations[key]
        return removed
