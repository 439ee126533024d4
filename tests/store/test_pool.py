"""Pooled connections: a connection that idled is checked before use; a busy one is not."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import store.pooling
from store.models import Tenant


def _backend_pids(db: Any) -> set[int]:
    with db.engine.connect() as connection:
        return {int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())}


def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres_db: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id = make_tenant(postgres_db, "pooled")
    (pid,) = _backend_pids(postgres_db)
    with postgres_db.admin_engine.begin() as admin:  # the database restarts, a proxy drops it, ...
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    monkeypatch.setattr(store.pooling, "PING_AFTER_IDLE", 0.0)
    with postgres_db.tenant_session(tenant_id) as session:  # no error: the ping found it dead
        assert session.get(Tenant, tenant_id) is not None
    assert _backend_pids(postgres_db) != {pid}


def test_only_a_connection_that_idled_is_pinged(
    postgres_db: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id = make_tenant(postgres_db, "busy")
    pings: list[object] = []
    real_ping = store.pooling.ping
    monkeypatch.setattr(store.pooling, "ping", lambda c: (pings.append(c), real_ping(c)))
    for _ in range(3):  # a connection used a moment ago: no round trip spent on a ping
        with postgres_db.tenant_session(tenant_id) as session:
            session.execute(text("SELECT 1"))
    assert pings == []
    monkeypatch.setattr(store.pooling, "PING_AFTER_IDLE", 0.0)
    with postgres_db.tenant_session(tenant_id) as session:
        session.execute(text("SELECT 1"))
    assert len(pings) == 1
