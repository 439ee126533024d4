"""Migration 0013: channels connected before proofs existed stay active; a number is unique
among active channels only (a pending claim never blocks the owner), and once per tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from errors import Conflict
from store.db import Database, migrate
from store.models import Channel, new_id
from store.repo import channels
from tests.store.migrations import database_at

BEFORE = "0012_privacy"


@pytest.fixture(params=["sqlite", "postgres"])
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at the revision before this migration."""
    yield from database_at(request, tmp_path, BEFORE)


def _tenant(db: Database, slug: str) -> int:
    tenant = new_id()
    with db.admin_engine.begin() as sql:
        sql.execute(
            text(
                "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (:id, :s, :s, '{}', :at)"
            ),
            {"id": tenant, "s": slug, "at": "2026-01-01 00:00:00+00:00"},
        )
    return tenant


def _add(db: Database, tenant: int, number: str, token: str = "access-token") -> Channel:
    with db.admin_session() as session:
        channel = channels.add(
            session,
            db.keyring,
            tenant,
            phone_number_id=number,
            verify_token="verify-token",
            app_secret="app-secret",
            access_token=token,
        )
        session.expunge(channel)
        return channel


def test_old_channels_stay_active_and_pending_claims_hold_nothing(old_db: Database) -> None:
    a, b = _tenant(old_db, "acme"), _tenant(old_db, "globex")
    with old_db.admin_engine.begin() as sql:
        sql.execute(
            text(
                "INSERT INTO channels (id, tenant_id, phone_number_id, verify_token_ciphertext, verify_token_digest,"
                " app_secret_ciphertext, access_token_ciphertext, created_at, waba_id)"
                " VALUES (:id, :t, '111', 'x', 'd', 'x', 'x', :at, '900')"
            ),
            {"id": new_id(), "t": b, "at": "2026-01-02 00:00:00+00:00"},
        )
    migrate(old_db)
    with old_db.admin_session() as session:
        assert channels.tenant_of_phone_number_id(session, "111") == b  # still routed
        assert channels.by_phone_number_id(session, "111").verified_at is not None  # type: ignore[union-attr]
    squat = _add(old_db, a, "111")  # a pending claim on B's number is stored, and inert
    with old_db.admin_session() as session:
        assert channels.tenant_of_phone_number_id(session, "111") == b
        with pytest.raises(channels.ClaimedElsewhere):
            channels.activate(session, session.merge(squat))
    with old_db.admin_session() as session, pytest.raises(Conflict, match="this tenant"):
        channels.add(
            session,
            old_db.keyring,
            a,
            phone_number_id="111",
            verify_token="verify-token",
            app_secret="app-secret",
            access_token="access-token",
        )
    # Two active channels of one number cannot exist, even written straight to the table.
    with pytest.raises(IntegrityError), old_db.admin_engine.begin() as sql:
        sql.execute(text("UPDATE channels SET verified_at = created_at WHERE tenant_id = :a"), {"a": a})
