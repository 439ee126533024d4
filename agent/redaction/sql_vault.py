"""The vault on the store's ``vault_entries`` table: values encrypted per row, found by blind index.

Concurrency: two turns assigning the same new value race on the unique
(tenant, conversation, type, digest) constraint, two different values on the unique
(tenant, conversation, placeholder) constraint; the loser's transaction rolls back and it looks
again, so both turns end with the same placeholder and no number is ever shared.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    bindparam,
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
from store.crypto import Keyring, aad_for
from store.db import Database
from store.driver import Hot
from store.identity import conversation_keyring
from store.models import VaultEntry, new_id
from store.vault import value_digests

logger = logging.getLogger(__name__)


class VaultConflictError(FrontdeskError):
    """A placeholder could not be assigned after several concurrent conflicts."""


_entries = cast_type(Table, VaultEntry.__table__)
_RETURNED = (_entries.c.id, _entries.c.placeholder, _entries.c.value_ciphertext)
_SCOPE = (
    _entries.c.tenant_id == bindparam("b_tenant"),
    _entries.c.conversation_id == bindparam("b_cid"),
    _entries.c.entity_type == bindparam("b_type"),
)
_FOUND_BY_OLDER_DIGEST = (
    update(_entries)
    .where(*_SCOPE, _entries.c.value_digest.in_(bindparam("b_digests", expanding=True)))
    .values(expires_at=bindparam("b_expires"))
    .returning(*_RETURNED)
)
_ITEMS = select(
    _entries.c.id, _entries.c.placeholder, _entries.c.entity_type, _entries.c.value_ciphertext
).where(
    _entries.c.tenant_id == bindparam("b_tenant"),
    _entries.c.conversation_id == bindparam("b_cid"),
    _entries.c.expires_at > bindparam("b_now", type_=_entries.c.expires_at.type),
)


def _assign_statement(postgres: bool) -> Any:
    """Insert the value under the type's next number, or keep the conversation's placeholder
    for it and extend its expiry: one statement, built once (building it cost more CPU than
    running it). The number after ``<TYPE_`` starts at ``b_start``."""
    start = bindparam("b_start", type_=Integer)
    placeholder = _entries.c.placeholder
    taken = cast(func.substr(placeholder, start, func.length(placeholder) - start), Integer)
    number = func.coalesce(func.max(taken), 0) + 1
    text_of = bindparam("b_prefix", type_=String) + cast(number, String) + literal(">", String)
    fixed = {
        "id": "b_id",
        "tenant_id": "b_tenant",
        "conversation_id": "b_cid",
        "entity_type": "b_type",
        "value_digest": "b_digest",
        "value_ciphertext": "b_sealed",
        "expires_at": "b_expires",
    }
    values = select(
        text_of, *(bindparam(name, type_=_entries.c[column].type) for column, name in fixed.items())
    ).where(*_SCOPE)
    insert = (pg_insert if postgres else sqlite_insert)(_entries)
    return (
        insert.from_select(["placeholder", *fixed], values)
        .on_conflict_do_update(
            index_elements=["tenant_id", "conversation_id", "entity_type", "value_digest"],
            set_={"expires_at": insert.excluded.expires_at},
        )
        .returning(*_RETURNED)
    )


_ASSIGN = Hot(_assign_statement(False), _assign_statement(True))
_ITEMS_HOT = Hot(_ITEMS)
"""Straight through the driver on PostgreSQL (``store.driver``): a turn runs each once or twice."""


def _aad(tenant_id: int, entry_id: int) -> str:
    """What a value is sealed to (``store.sealed``'s binding of ``vault_entries.value_ciphertext``)."""
    return aad_for("vault_entries.value_ciphertext", tenant_id, entry_id)


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
                # The commit does not wait for the WAL flush: what the placeholder is used in
                # (the turn's checkpoint and its commit) commits synchronously after it, which
                # flushes it too; a database crash before that fails the turn, which runs again.
                with self.db.tenant_connection(conversation.tenant_id, flush=False) as sql:
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
        tenant_id = conversation.tenant_id
        scope = {"b_tenant": tenant_id, "b_cid": conversation.conversation_id, "b_type": entity_type}
        if len(digests) > 1:
            found = sql.execute(
                _FOUND_BY_OLDER_DIGEST, {**scope, "b_digests": digests[1:], "b_expires": expires}
            ).first()
            if found is not None:
                return self._item(tenant_id, entity_type, *found)
        entry_id = new_id()
        keyring = conversation_keyring(sql, self.db.keyring, conversation.conversation_id)
        params = {
            **scope,
            "b_start": len(entity_type) + 3,  # "<TYPE_" then the number, then ">"
            "b_prefix": f"<{entity_type}_",
            "b_id": entry_id,
            "b_digest": digests[0],
            "b_sealed": keyring.encrypt(stored, aad=_aad(tenant_id, entry_id)),
            "b_expires": expires,
        }
        [(found_id, placeholder_text, sealed)] = _ASSIGN.rows(sql, params)
        if found_id == entry_id:  # inserted: the value is this one
            return VaultItem(str(placeholder_text), entity_type, SecretValue(stored))
        return self._item(tenant_id, entity_type, found_id, placeholder_text, sealed)

    def _item(
        self, tenant_id: int, entity_type: str, entry_id: int, placeholder: str, sealed: str
    ) -> VaultItem:
        return _item(self.db.keyring, tenant_id, entity_type, entry_id, placeholder, sealed)

    def items(self, conversation: ConversationKey) -> list[VaultItem]:
        """Core statements on a pinned connection: a turn reads these once, no ORM session needed."""
        with self.db.tenant_connection(conversation.tenant_id) as sql:
            return items_in(sql, self.db.keyring, conversation)

    def reads(self, db: Database) -> bool:
        """Whether this vault's entries are ``db``'s (what :func:`items_in` on it reads)."""
        return self.db is db

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


def items_in(sql: Connection, keyring: Keyring, conversation: ConversationKey) -> list[VaultItem]:
    """:meth:`SqlVault.items` on a connection already pinned to the conversation's tenant, for a
    caller that reads them in a transaction of its own (a worker opening a turn, who hands them
    to the turn's ``TurnVault``)."""
    tenant_id = conversation.tenant_id
    params = {"b_tenant": tenant_id, "b_cid": conversation.conversation_id, "b_now": datetime.now(UTC)}
    return [
        _item(keyring, tenant_id, entity_type, entry_id, placeholder, sealed)
        for entry_id, placeholder, entity_type, sealed in _ITEMS_HOT.rows(sql, params)
    ]


def _item(
    keyring: Keyring, tenant_id: int, entity_type: str, entry_id: int, placeholder: str, sealed: str
) -> VaultItem:
    value = keyring.decrypt(sealed, aad=_aad(tenant_id, entry_id)) if sealed else ""
    return VaultItem(str(placeholder), entity_type, SecretValue(value))
