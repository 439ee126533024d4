"""The audit chain against someone who can write the database: keyed, append-only, anchored."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from store import audit
from store.audit_anchor import FileAnchor, RedisAnchor, scope_of
from store.db import Database, migrate
from store.models import AuditEntry, utcnow
from tests.conftest import scratch_schema


def _fill(db: Database, tenant_id: int, n: int) -> None:
    with db.tenant_session(tenant_id) as session:
        for i in range(n):
            audit.append(session, tenant_id, actor="admin:7", action="config.changed", details={"i": i})


def _owner(db: Database, sql: str, **params: Any) -> None:
    """Run SQL as the table's owner (on SQLite, someone with the file who drops the triggers)."""
    with db.admin_engine.begin() as connection:
        if db.schema:
            connection.execute(text(f'SET search_path TO "{db.schema}"'))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only_delete"))
        connection.execute(text(sql), params)


def _old_rechain(db: Database, tenant_id: int) -> None:
    """The review's attack: rewrite an entry and recompute the chain with plain SHA-256."""
    with db.admin_session() as session:
        prev = audit.GENESIS
        for entry in session.query(AuditEntry).filter_by(tenant_id=tenant_id).order_by(AuditEntry.seq):
            if entry.seq == 2:
                entry.actor = "nobody"
            entry.prev_hash = prev
            entry.hash = audit.legacy_hash(entry)
            prev = entry.hash
            session.flush()


@pytest.fixture
def redis_anchor(redis_url: str, any_db: Database) -> Any:
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    any_db.audit_anchor = RedisAnchor(client, scope_of(any_db.url, any_db.schema), prefix=prefix)
    yield any_db
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_the_app_role_can_neither_update_nor_delete_entries(postgres_db: Database, make_tenant: Any) -> None:
    tenant = make_tenant(postgres_db, "acme")
    _fill(postgres_db, tenant, 3)
    for attack in (
        "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), postgres_db.tenant_session(tenant) as s:
            s.execute(text(attack))
    assert audit.verify_chain(postgres_db, tenant).chains[0].entries == 3


def test_on_sqlite_updates_and_deletes_are_refused_but_a_tenant_can_be_deleted(
    sqlite_db: Database, make_tenant: Any
) -> None:
    tenant = make_tenant(sqlite_db, "acme")
    _fill(sqlite_db, tenant, 3)
    for attack in (
        "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"), sqlite_db.admin_session() as s:
            s.execute(text(attack))
    with sqlite_db.admin_session() as s:
        s.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant})  # the chain goes with it
        assert (
            s.execute(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"), {"t": tenant}).scalar()
            == 0
        )


def test_a_chain_rewritten_and_rehashed_does_not_verify(any_db: Database, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "acme")
    _fill(any_db, tenant, 5)
    if not any_db.is_postgres:
        _owner(any_db, "SELECT 1")  # drop the triggers, as someone holding the file could
    _old_rechain(any_db, tenant)
    problems = audit.verify_chain(any_db, tenant).problems
    assert {p.kind for p in problems} == {"changed"} and len(problems) == 5


def test_deleting_the_newest_entries_is_found_through_the_redis_anchor(
    redis_anchor: Database, make_tenant: Any
) -> None:
    db = redis_anchor
    tenant = make_tenant(db, "acme")
    _fill(db, tenant, 5)
    assert audit.verify_chain(db).ok
    _owner(db, "DELETE FROM audit_log WHERE tenant_id = :t AND seq > 3", t=tenant)
    problems = audit.verify_chain(db).problems
    assert [(p.tenant_id, p.seq, p.kind) for p in problems] == [(tenant, 5, "truncated")]
    # cut and then appended again up to the same length: the anchored entry differs
    _fill(db, tenant, 2)
    assert [p.kind for p in audit.verify_chain(db, tenant).problems] == ["truncated"]


def test_a_rolled_back_append_does_not_move_the_anchor(redis_anchor: Database, make_tenant: Any) -> None:
    db = redis_anchor
    tenant = make_tenant(db, "acme")
    _fill(db, tenant, 2)
    with pytest.raises(RuntimeError), db.tenant_session(tenant) as session:
        audit.append(session, tenant, actor="admin:7", action="config.changed")
        raise RuntimeError("rolled back")
    assert db.audit_anchor is not None and db.audit_anchor.head(tenant) is not None
    assert db.audit_anchor.head(tenant)[0] == 2  # type: ignore[index]
    assert audit.verify_chain(db, tenant).ok


def test_the_file_anchor_only_moves_forward(tmp_path: Any) -> None:
    anchor = FileAnchor(tmp_path, "scope")
    anchor.advance(7, 3, "c" * 64)
    anchor.advance(7, 2, "b" * 64)  # a late writer
    assert anchor.head(7) == (3, "c" * 64) and anchor.head(None) is None
    assert oct((tmp_path / "scope" / "7").stat().st_mode & 0o777) == "0o600"


# --- migration ---------------------------------------------------------------------------------


def _legacy_entry(tenant_id: int | None, seq: int, prev: str, actor: str = "admin:1") -> dict[str, Any]:
    at = utcnow()
    entry = AuditEntry(
        tenant_id=tenant_id, seq=seq, at=at, actor=actor, action="config.changed", subject=None, details={}
    )
    entry.prev_hash = prev
    body = {
        "tenant_id": tenant_id,
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": "config.changed",
        "subject": None,
        "details": {},
        "prev_hash": prev,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert audit.legacy_hash(entry) == digest
    return {
        "id": seq + (tenant_id or 0) * 100,
        "tenant_id": tenant_id,
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": "config.changed",
        "subject": None,
        "details": "{}",
        "prev_hash": prev,
        "hash": digest,
    }


def _write_legacy_chain(db: Database, tenant_id: int | None, n: int, tamper: bool = False) -> None:
    prev = audit.GENESIS
    with db.admin_engine.begin() as connection:
        if db.schema:
            connection.execute(text(f'SET search_path TO "{db.schema}"'))
        for seq in range(1, n + 1):
            row = _legacy_entry(tenant_id, seq, prev)
            prev = row["hash"]
            if tamper and seq == 2:
                row["actor"] = "nobody"
            connection.execute(
                text(
                    "INSERT INTO audit_log (id, tenant_id, seq, at, actor, action, subject, details, prev_hash, hash)"
                    " VALUES (:id, :tenant_id, :seq, :at, :actor, :action, :subject, :details, :prev_hash, :hash)"
                ),
                row,
            )


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Any, keyring: Any) -> Any:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/old.db", keyring)
        yield db
        db.dispose()
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    with scratch_schema(admin_url) as schema:
        db = Database(
            request.getfixturevalue("postgres_app_url"), keyring, admin_url=admin_url, schema=schema
        )
        try:
            yield db
        finally:
            db.dispose()


def test_chains_written_before_the_key_verify_after_migration(fresh_db: Database) -> None:
    db = fresh_db
    migrate(db, "0005")
    with db.admin_engine.begin() as connection:
        if db.schema:
            connection.execute(text(f'SET search_path TO "{db.schema}"'))
        for tid, slug in ((1, "acme"), (2, "globex")):
            connection.execute(
                text(
                    "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (:i, :s, :s, '{}', :at)"
                ),
                {"i": tid, "s": slug, "at": utcnow()},
            )
    _write_legacy_chain(db, 1, 4)
    _write_legacy_chain(db, None, 2)
    _write_legacy_chain(db, 2, 3, tamper=True)
    migrate(db)
    assert audit.verify_chain(db, 1).ok and audit.verify_chain(db, None, all_chains=False).ok
    # a chain tampered with before the upgrade is not blessed by it
    assert {p.seq for p in audit.verify_chain(db, 2).problems} == {1, 2, 3}
    _fill(db, 1, 1)
    assert audit.verify_chain(db, 1).chains[0].entries == 5 and audit.verify_chain(db, 1).ok


def test_the_sqlite_file_keeps_no_key(sqlite_db: Database, make_tenant: Any) -> None:
    tenant = make_tenant(sqlite_db, "acme")
    _fill(sqlite_db, tenant, 1)
    path = sqlite_db.url.database
    assert path is not None
    _, key = sqlite_db.keyring.derived_key(audit.KEY_PURPOSE)
    raw = Path(path).read_bytes()
    assert key not in raw and key.hex().encode() not in raw
    assert sqlite3.connect(path).execute("SELECT key_id FROM audit_log").fetchone() == ("t1",)
