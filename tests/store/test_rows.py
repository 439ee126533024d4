"""insert_now: a new row written at once, kept in the session as a flushed one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from store.db import Database
from store.identity import new_contact, number_digest
from store.models import Contact, User
from store.rows import insert_now


def test_a_row_inserted_now_is_written_with_its_defaults_and_tracked(
    any_db: Database, make_tenant: Any
) -> None:
    tenant_id = make_tenant(any_db, "acme")
    statements: list[str] = []
    with any_db.tenant_session(tenant_id) as session:
        contact = new_contact(any_db.keyring, tenant_id, "34600000001")
        insert_now(session, contact)
        event.listen(session.connection(), "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert contact.opted_out is False and contact.created_at is not None  # defaults, not read back
        assert contact in session and statements == []
        contact.opted_out = True  # a later change is an UPDATE of the same row
    with any_db.tenant_session(tenant_id) as session:
        stored = session.scalar(
            select(Contact).where(Contact.wa_id_digest == number_digest(any_db.keyring, "34600000001"))
        )
        assert stored is not None and stored.id == contact.id and stored.opted_out
        assert stored.created_at == contact.created_at


def test_a_default_only_the_database_knows_is_refused(
    any_db: Database, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id = make_tenant(any_db, "acme")
    users: Any = User.__table__
    monkeypatch.setattr(users.c.can_read_bodies, "default", None)  # only its server default left
    with any_db.tenant_session(tenant_id) as session, pytest.raises(ValueError, match="can_read_bodies"):
        insert_now(
            session, User(tenant_id=tenant_id, name="ana", role="agent", token_hash="h", token_prefix="p")
        )
