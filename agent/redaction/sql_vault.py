"""The vault on the store's ``vault_entries`` table: values encrypted per row, found by blind index.

Concurrency: two turns assigning the same new value race on the unique
(tenant, conversation, type, digest) constraint, two different values on the unique
(tenant, conversation, placeholder) constraint; the loser's transaction rolls back and it looks
again, so both turns end with the same placeholder and no number is ever shared.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Connection,
    Integer,
    String,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from agent.redaction.vault import (
    DEFAULT_TTL,
    ConversationKey,
    SecretValue,
    VaultItem,
    canonical_value,
)
from errors import FrontdeskError
from store.db import Database
from store.identity import conversation_keyring
from store.models import VaultEntry, new_id
from store.sealed import seal, unseal
from store.vault import value_digests

logger = logging.getLogger(__name__)


class VaultConflictError(FrontdeskError):
    """A placeholder could not be assigned after several concurrent conflicts."""


_RETURNED = (VaultEntry.id, VaultEntry.placeholder, VaultEntry.value_ciphertext)


class SqlVault:
    """Vault entries in the database, sealed with the database's keyring, with an expiry."""

    def __init__(self, db: Database, ttl: timedelta = DEFAULT_TTL, attempts: int = 8) -> None:
        self.db = db
        self.ttl = ttl
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"SqlVault({self.db!r})"

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        return self.assign_item(conversation, entity_type, value).placeholder

    def assign_item(self, conversation: ConversationKey, entity_type: str, value: str) -> VaultItem:
        """Like :meth:`assign`, with the entry as :meth:`items` would list it (the value as
        first stored), so a turn's view needs no second read (``TurnVault``)."""
        stored = canonical_value(entity_type, value)
        digests = value_digests(self.db.keyring, entity_type, stored)
        for attempt in range(self.attempts):
            try:
                with self.db.tenant_connection(conversation.tenant_id) as sql:
                    return self._assign_once(sql, conversation, entity_type, stored, digests)
            except IntegrityError:
                # Another turn took the number for another value: look again.
                logger.debug("vault conflict on %s, attempt %d", entity_type, attempt + 1)
        raise VaultConflictError(f"could not assign a {entity_type} placeholder")

    def _assign_once(
        self,
        sql: Connection,
        conversation: ConversationKey,
        entity_type: str,
        stored: str,
        digests: list[str],
    ) -> VaultItem:
        """One statement as a rule: insert the value under the next number, or, if the
        conversation has it already, keep its placeholder and extend its expiry.

        The next number is the highest of the type's placeholders, expired ones included,
        plus one (computed in the statement). A value stored before a key rotation is found
        by its older digest first (each configured key gives one; the newest is written).
        """
        expires = datetime.now(UTC) + self.ttl
        scope = (
            VaultEntry.tenant_id == conversation.tenant_id,
            VaultEntry.conversation_id == conversation.conversation_id,
            VaultEntry.entity_type == entity_type,
        )
        if len(digests) > 1:
            found = sql.execute(
                update(VaultEntry)
                .where(*scope, VaultEntry.value_digest.in_(digests[1:]))
                .values(expires_at=expires)
                .returning(*_RETURNED)
            ).first()
            if found is not None:
                return self._item(conversation, entity_type, *found)
        entry_id = new_id()
        row = VaultEntry(id=entry_id, tenant_id=conversation.tenant_id)
        keyring = conversation_keyring(sql, self.db.keyring, conversation.conversation_id)
        seal(keyring, row, "value_ciphertext", stored)
        start = len(entity_type) + 3  # "<TYPE_" then the number, then ">"
        taken = cast(
            func.substr(VaultEntry.placeholder, start, func.length(VaultEntry.placeholder) - start),
            Integer,
        )
        number = func.coalesce(func.max(taken), 0) + 1
        placeholder = literal(f"<{entity_type}_", String) + cast(number, String) + literal(">", String)
        table = VaultEntry.__table__
        fixed = {
            "id": entry_id,
            "tenant_id": conversation.tenant_id,
            "conversation_id": conversation.conversation_id,
            "entity_type": entity_type,
            "value_digest": digests[0],
            "value_ciphertext": row.value_ciphertext,
            "expires_at": expires,
        }
        values = select(
            placeholder, *(literal(value, table.c[name].type) for name, value in fixed.items())
        ).where(*scope)
        insert = (pg_insert if self.db.is_postgres else sqlite_insert)(VaultEntry)
        statement = (
            insert.from_select(["placeholder", *fixed], values)
            .on_conflict_do_update(
                index_elements=["tenant_id", "conversation_id", "entity_type", "value_digest"],
                set_={"expires_at": expires},
            )
            .returning(*_RETURNED)
        )
        found_id, placeholder_text, sealed = sql.execute(statement).one()
        if found_id == entry_id:  # inserted: the value is this one
            return VaultItem(str(placeholder_text), entity_type, SecretValue(stored))
        return self._item(conversation, entity_type, found_id, placeholder_text, sealed)

    def _item(
        self, conversation: ConversationKey, entity_type: str, entry_id: int, placeholder: str, sealed: str
    ) -> VaultItem:
        row = VaultEntry(id=entry_id, tenant_id=conversation.tenant_id, value_ciphertext=sealed)
        value = unseal(self.db.keyring, row, "value_ciphertext") or ""
        return VaultItem(str(placeholder), entity_type, SecretValue(value))

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
