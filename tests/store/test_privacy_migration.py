"""Migration 0006: existing contacts' data moves under per-contact keys; clear numbers go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from store.crypto import aad_for
from store.db import Database, migrate
from store.identity import bsuid_of, number_digests, number_of
from store.models import Contact, Message, new_id
from store.sealed import unseal
from tests.store.migrations import database_at

BEFORE = "0011_sec_gateway"


@pytest.fixture(params=["sqlite", "postgres"])
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at the revision before this migration."""
    yield from database_at(request, tmp_path, BEFORE)


def test_existing_contacts_move_under_their_own_keys(old_db: Database) -> None:
    master = old_db.keyring.master
    tenant, contact, conversation, message = new_id(), new_id(), new_id(), new_id()
    with old_db.admin_engine.begin() as sql:
        sql.execute(
            text(
                "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (:id, 'acme', 'Acme', '{}', :at)"
            ),
            {"id": tenant, "at": "2026-01-01 00:00:00+00:00"},
        )
        name = master.encrypt("Ana", aad=aad_for("contacts.profile_name_ciphertext", tenant, contact))
        sql.execute(
            text(
                "INSERT INTO contacts (id, tenant_id, wa_id, bsuid, profile_name_ciphertext, opted_out, created_at) "
                "VALUES (:id, :t, '34600123456', 'US.7', :name, false, :at)"
            ),
            {"id": contact, "t": tenant, "name": name, "at": "2026-01-01 00:00:00+00:00"},
        )
        sql.execute(
            text(
                "INSERT INTO conversations (id, tenant_id, contact_id, mode, epoch, lease_fence, created_at, updated_at) "
                "VALUES (:id, :t, :c, 'bot', 0, 0, :at, :at)"
            ),
            {"id": conversation, "t": tenant, "c": contact, "at": "2026-01-01 00:00:00+00:00"},
        )
        body = master.encrypt("mi cita", aad=aad_for("messages.body_ciphertext", tenant, message))
        sql.execute(
            text(
                "INSERT INTO messages (id, tenant_id, conversation_id, direction, author, kind, body_ciphertext, "
                "status, created_at) VALUES (:id, :t, :cv, 'in', 'customer', 'text', :b, 'received', :at)"
            ),
            {"id": message, "t": tenant, "cv": conversation, "b": body, "at": "2026-01-01 00:00:00+00:00"},
        )

    migrate(old_db)

    columns = {c["name"] for c in inspect(old_db.admin_engine).get_columns("contacts", schema=old_db.schema)}
    assert "wa_id" not in columns and "bsuid" not in columns
    with old_db.admin_session() as session:
        row = session.get(Contact, contact)
        assert row is not None
        assert number_of(old_db.keyring, row) == "34600123456" and bsuid_of(old_db.keyring, row) == "US.7"
        assert row.wa_id_digest in number_digests(old_db.keyring, "+34 600 123 456")
        assert unseal(old_db.keyring, row, "profile_name_ciphertext") == "Ana"
        stored = session.get(Message, message)
        assert stored is not None and stored.body_ciphertext is not None
        assert stored.body_ciphertext.startswith(f"dk{contact}.")  # under the contact's own key
        assert unseal(old_db.keyring, stored, "body_ciphertext") == "mi cita"
        assert session.query(Message).count() == 1  # nothing cascaded away while contacts was rebuilt
    if not old_db.is_postgres:
        database = old_db.url.database
        assert database is not None
        with old_db.admin_engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
        assert b"34600123456" not in Path(database).read_bytes()


def test_a_database_with_contacts_and_no_keyring_is_refused(old_db: Any) -> None:
    """The data migration needs the keys; a migration without them stops before any change."""
    from alembic import command
    from alembic.config import Config

    from store.db import MIGRATIONS_DIR

    with old_db.admin_engine.begin() as sql:
        tenant = new_id()
        sql.execute(
            text(
                "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (:id, 'b', 'B', '{}', :at)"
            ),
            {"id": tenant, "at": "2026-01-01 00:00:00+00:00"},
        )
        sql.execute(
            text(
                "INSERT INTO contacts (id, tenant_id, wa_id, opted_out, created_at) "
                "VALUES (:id, :t, '1', false, :at)"
            ),
            {"id": new_id(), "t": tenant, "at": "2026-01-01 00:00:00+00:00"},
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with pytest.raises(RuntimeError, match="needs the keyring"), old_db.admin_engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["schema"] = old_db.schema
        command.upgrade(config, "head")
