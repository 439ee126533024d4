"""Fixtures for the workers: conversations, contexts with fakes, isolated Redis prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from store.db import Database
from store.identity import new_contact
from store.models import Conversation
from workers.context import WorkerConfig, WorkerContext
from workers.fairness import FairnessPolicy, LocalFairness
from workers.lease import DatabaseLeases
from workers.metrics import WorkerMetrics
from workers.testing import ListEnqueuer, RecordingSender, SimulatedRunner


def make_conversations(db: Database, tenant_id: int, count: int, prefix: str | None = None) -> list[int]:
    """``count`` conversations of ``tenant_id``, each with its own contact."""
    prefix = prefix or str(uuid.uuid4().int)[:6]
    ids: list[int] = []
    with db.tenant_session(tenant_id) as session:
        contacts = [new_contact(db.keyring, tenant_id, f"{prefix}{i:08d}") for i in range(count)]
        session.add_all(contacts)
        session.flush()
        conversations = [Conversation(tenant_id=tenant_id, contact_id=c.id) for c in contacts]
        session.add_all(conversations)
        session.flush()
        ids = [c.id for c in conversations]
    return ids


@dataclass
class World:
    db: Database
    tenant_id: int
    ctx: WorkerContext
    runner: Any
    sender: RecordingSender
    enqueue: ListEnqueuer

    def conversation(self) -> int:
        return make_conversations(self.db, self.tenant_id, 1)[0]


def make_ctx(db: Database, runner: Any = None, sender: Any = None, **config: Any) -> WorkerContext:
    config.setdefault("debounce", 0.0)
    config.setdefault("lease_ttl", 5.0)
    config.setdefault("inline_first_send", False)  # unit tests pump the send tasks themselves
    config.setdefault("fairness", FairnessPolicy(tenant_concurrency=1000, tenant_rate=1e6, tenant_burst=1e6))
    cfg = WorkerConfig(**config)
    return WorkerContext(
        db=db,
        runner=runner or SimulatedRunner(),
        sender=sender or RecordingSender(),
        leases=DatabaseLeases(db),
        fairness=LocalFairness(cfg.fairness),
        enqueue=ListEnqueuer(),
        config=cfg,
        metrics=WorkerMetrics(),
    )


@pytest.fixture
def world(any_db: Database, make_tenant: Any) -> Iterator[World]:
    tenant_id = make_tenant(any_db, "acme")
    ctx = make_ctx(any_db)
    assert isinstance(ctx.enqueue, ListEnqueuer)
    assert isinstance(ctx.sender, RecordingSender)
    yield World(any_db, tenant_id, ctx, ctx.runner, ctx.sender, ctx.enqueue)
    ctx.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        redis_client.delete(*keys)


def pump(ctx: WorkerContext, rounds: int = 20) -> None:
    """Run the wake-ups a context asked for, inline, until none are left (countdowns ignored)."""
    from workers.drain import drain_and_reschedule
    from workers.outbox import send_item

    enqueue = ctx.enqueue
    assert isinstance(enqueue, ListEnqueuer)
    for _ in range(rounds):
        with enqueue._lock:
            drains, enqueue.drains = enqueue.drains, []
        sends = enqueue.take_sends()
        if not drains and not sends:
            return
        for tenant_id, conversation_id, _ in drains:
            drain_and_reschedule(ctx, tenant_id, conversation_id)
        for tenant_id, outbox_id, _ in sends:
            send_item(ctx.db, ctx.sender, tenant_id, outbox_id, policy=ctx.config.send)


@pytest.fixture
def cluster(postgres_admin_url: str, redis_url: str, tmp_path: Any) -> Iterator[Any]:
    """Real workers against the real PostgreSQL and Redis; call ``cluster.start()`` first."""
    from tests.workers.cluster import Cluster

    c = Cluster(postgres_admin_url, redis_url, tmp_path)
    try:
        yield c
    finally:
        c.stop()
