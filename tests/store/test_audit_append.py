"""The chain's one-statement append (migration 0015): a process's guess of the head is only a
guess; the database inserts only an entry that follows the head it reads under the lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from store import audit
from store.db import AUDIT_GUESSES, Database, migrate
from store.repo import tenants
from tests.store.migrations import database_at


def _append(db: Database, tenant_id: int, n: int, actor: str = "admin:7") -> None:
    for i in range(n):
        with db.tenant_session(tenant_id) as session:
            audit.append(session, tenant_id, actor=actor, action="config.changed", details={"i": i})


def _seqs(db: Database, tenant_id: int) -> list[int]:
    with db.admin_session() as session:
        rows = session.execute(
            text("SELECT seq FROM audit_log WHERE tenant_id = :t ORDER BY seq"), {"t": tenant_id}
        )
        return [int(r[0]) for r in rows]


@pytest.fixture
def second_process(
    postgres_db: Database, postgres_app_url: str, postgres_admin_url: str
) -> Iterator[Database]:
    """Another process on the same database: its own guesses of the chain heads."""
    other = Database(
        postgres_app_url, postgres_db.keyring, admin_url=postgres_admin_url, schema=postgres_db.schema
    )
    yield other
    other.dispose()


def test_two_processes_appending_in_turn_keep_one_chain(
    postgres_db: Database, second_process: Database, make_tenant: Any
) -> None:
    tenant = make_tenant(postgres_db, "acme")
    for _ in range(3):  # each append finds the head the other process moved
        _append(postgres_db, tenant, 2, actor="admin:1")
        _append(second_process, tenant, 2, actor="admin:2")
    assert _seqs(postgres_db, tenant) == list(range(1, 13))
    assert audit.verify_chain(postgres_db, tenant).ok


def test_concurrent_processes_neither_fork_nor_skip(
    postgres_db: Database, second_process: Database, make_tenant: Any
) -> None:
    tenant = make_tenant(postgres_db, "acme")
    threads = [
        threading.Thread(target=_append, args=(db, tenant, 10)) for db in (postgres_db, second_process) * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _seqs(postgres_db, tenant) == list(range(1, 41))
    assert audit.verify_chain(postgres_db, tenant).ok


def test_a_wrong_guess_costs_a_retry_not_a_wrong_link(postgres_db: Database, make_tenant: Any) -> None:
    tenant = make_tenant(postgres_db, "acme")
    _append(postgres_db, tenant, 2)
    with postgres_db.tenant_session(tenant) as session:
        session.info[AUDIT_GUESSES][tenant] = (7, "f" * 64)  # ahead of the chain, and another hash
        entry = audit.append(session, tenant, actor="admin:7", action="config.changed")
    assert entry.seq == 3
    assert _seqs(postgres_db, tenant) == [1, 2, 3]
    assert audit.verify_chain(postgres_db, tenant).ok


def test_a_rolled_back_append_leaves_a_guess_that_is_corrected(
    postgres_db: Database, make_tenant: Any
) -> None:
    tenant = make_tenant(postgres_db, "acme")
    _append(postgres_db, tenant, 1)
    with pytest.raises(RuntimeError), postgres_db.tenant_session(tenant) as session:
        audit.append(session, tenant, actor="admin:7", action="config.changed")
        raise RuntimeError("the caller's transaction fails")
    _append(postgres_db, tenant, 1)
    assert _seqs(postgres_db, tenant) == [1, 2]
    assert audit.verify_chain(postgres_db, tenant).ok


def test_a_temporary_audit_log_does_not_take_the_entries(postgres_db: Database, make_tenant: Any) -> None:
    """The function's search path ends with ``pg_temp``: a temporary table of the same name,
    made by whoever runs SQL as the application, neither receives entries nor feeds it a head."""
    tenant = make_tenant(postgres_db, "acme")
    _append(postgres_db, tenant, 1)
    with postgres_db.tenant_session(tenant) as session:
        session.execute(text("CREATE TEMPORARY TABLE audit_log (seq integer, hash text, tenant_id bigint)"))
        session.execute(text("INSERT INTO pg_temp.audit_log VALUES (41, 'forged', :t)"), {"t": tenant})
        entry = audit.append(session, tenant, actor="admin:7", action="config.changed")
        assert entry.seq == 2
        temporary = session.execute(text("SELECT count(*) FROM pg_temp.audit_log")).scalar()
        assert temporary == 1
    assert _seqs(postgres_db, tenant) == [1, 2]
    assert audit.verify_chain(postgres_db, tenant).ok


# --- migration ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def db_before(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from database_at(request, tmp_path, "0014_definer_paths")


def test_a_chain_written_before_the_migration_grows_after_it(db_before: Database) -> None:
    db = db_before
    with db.admin_session() as session:
        tenant = tenants.create(session, "acme").id
    with db.admin_session() as session:  # as the code before this revision appended
        session.info.pop(AUDIT_GUESSES)
        for i in range(3):
            audit.append(session, tenant, actor="admin:1", action="config.changed", details={"i": i})
    migrate(db)
    with db.admin_session() as session:
        audit.append(session, tenant, actor="admin:1", action="config.changed")
    assert _seqs(db, tenant) == [1, 2, 3, 4]
    assert audit.verify_chain(db, tenant).ok
