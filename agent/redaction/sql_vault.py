"""The vault on the store's ``vault_entries`` table: values encrypted per row, found by blind index.

Concurrency: two turns assigning the same new value race on the unique
(tenant, conversation, type, digest) constraint, two different values on the unique
(tenant, conversation, placeholder) constraint; the loser's transaction rolls back and it looks
again, so both turns end with the same placeholder and no number is ever shared.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.redaction.vault import (
    DEFAULT_TTL,
    ConversationKey,
    SecretValue,
    VaultItem,
    canonical_value,
    placeholder_for,
    placeholder_number,
)
from errors import FrontdeskError
from store.db import Database
from store.identity import conversation_keyring
from store.models import VaultEntry, new_id
from store.sealed import seal, unseal
from store.vault import value_digest, value_digests

logger = logging.getLogger(__name__)


class VaultConflictError(FrontdeskError):
    """A placeholder could not be assigned after several concurrent conflicts."""


class SqlVault:
    """Vault entries in the database, sealed with the database's keyring, with an expiry."""

    def __init__(self, db: Database, ttl: timedelta = DEFAULT_TTL, attempts: int = 8) -> None:
        self.db = db
        self.ttl = ttl
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"SqlVault({self.db!r})"

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        stored = canonical_value(entity_type, value)
        digests = value_digests(self.db.keyring, entity_type, stored)
        for attempt in range(self.attempts):
            try:
                with self.db.tenant_session(conversation.tenant_id) as session:
                    return self._assign_once(session, conversation, entity_type, stored, digests)
            except IntegrityError:
                # Another turn inserted the same value or took the number: look again.
                logger.debug("vault conflict on %s, attempt %d", entity_type, attempt + 1)
        raise VaultConflictError(f"could not assign a {entity_type} placeholder")

    def _assign_once(
        self,
        session: Session,
        conversation: ConversationKey,
        entity_type: str,
        stored: str,
        digests: list[str],
    ) -> str:
        now = datetime.now(UTC)
        scope = (
            VaultEntry.tenant_id == conversation.tenant_id,
            VaultEntry.conversation_id == conversation.conversation_id,
            VaultEntry.entity_type == entity_type,
        )
        existing = session.scalars(
            select(VaultEntry).where(*scope, VaultEntry.value_digest.in_(digests))
        ).first()
        if existing is not None:
            existing.expires_at = now + self.ttl
            return existing.placeholder
        taken = session.scalars(select(VaultEntry.placeholder).where(*scope)).all()
        number = max((placeholder_number(p) for p in taken), default=0) + 1
        row = VaultEntry(
            id=new_id(),
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.conversation_id,
            entity_type=entity_type,
            placeholder=placeholder_for(entity_type, number),
            value_digest=value_digest(self.db.keyring, entity_type, stored),
            value_ciphertext="",
            expires_at=now + self.ttl,
        )
        seal(
            conversation_keyring(session, self.db.keyring, conversation.conversation_id),
            row,
            "value_ciphertext",
            stored,
        )
        session.add(row)
        session.flush()
        return row.placeholder

    def items(self, conversation: ConversationKey) -> list[VaultItem]:
        """Core statements on a pinned connection: a turn reads these once, no ORM session needed."""
        now = datetime.now(UTC)
        with self.db.tenant_connection(conversation.tenant_id) as sql:
            rows = sql.execute(
                select(
                    VaultEntry.id, VaultEntry.placeholder, VaultEntry.entity_type, VaultEntry.value_ciphertext
                ).where(
                    VaultEntry.tenant_id == conversation.tenant_id,
                    VaultEntry.conversation_id == conversation.conversation_id,
                    VaultEntry.expires_at > now,
                )
            ).all()
        items: list[VaultItem] = []
        for entry_id, placeholder, entity_type, sealed in rows:
            row = VaultEntry(id=entry_id, tenant_id=conversation.tenant_id, value_ciphertext=sealed)
            value = unseal(self.db.keyring, row, "value_ciphertext") or ""
            items.append(VaultItem(placeholder, entity_type, SecretValue(value)))
        return items

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired entries of every tenant (retention job). On PostgreSQL the owner's
        narrow function does it: the application sees no tenant's entries without its pin."""
        moment = now or datetime.now(UTC)
        if self.db.is_postgres:
            with self.db.app_session() as session:
                query = text("SELECT frontdesk_purge_expired_vault(:now)")
                return int(session.scalar(query, {"now": moment}) or 0)
        with self.db.admin_session() as session:
            deleted = session.execute(delete(VaultEntry).where(VaultEntry.expires_at <= moment))
            return int(getattr(deleted, "rowcount", 0) or 0)
