"""The worker process's context: built once, from a factory the composition root provides.

``workers`` cannot import ``frontdesk`` (imports point down), so the lead's wiring hands a
factory to :func:`install`, or names one in ``FRONTDESK_WORKER_CONTEXT=module:function``.
A factory takes the :class:`WorkerConfig` and an :class:`Enqueuer` and returns the context;
:func:`build_context` does the common part.
"""

from __future__ import annotations

import gc
import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

from errors import UserError
from store.db import Database
from workers.context import Enqueuer, WorkerConfig, WorkerContext
from workers.events import NullPublisher, Publisher, RedisPublisher
from workers.fairness import Fairness, LocalFairness, RedisFairness
from workers.lease import DatabaseLeases, LeaseManager, RedisLeases
from workers.outbox import OutboundSender
from workers.turns import TurnRunner

ContextFactory = Callable[[WorkerConfig, Enqueuer], WorkerContext]

_lock = threading.Lock()
_factory: ContextFactory | None = None
_context: WorkerContext | None = None


def redis_client(url: str, max_connections: int = 300) -> Any:
    """A Redis client whose pool blocks (instead of failing) when every connection is busy."""
    import redis

    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=30)
    return redis.Redis(connection_pool=pool)


def build_context(
    config: WorkerConfig,
    enqueue: Enqueuer,
    *,
    db: Database,
    runner: TurnRunner,
    sender: OutboundSender,
    redis: Any = None,
) -> WorkerContext:
    """Leases and fairness in Redis when ``config.redis_url`` is set, else database and process."""
    leases: LeaseManager
    fairness: Fairness
    events: Publisher = NullPublisher()
    if redis is None and config.redis_url:
        redis = redis_client(config.redis_url)
    if redis is not None:
        leases = RedisLeases(redis, config.redis_prefix)
        fairness = RedisFairness(redis, config.fairness, config.redis_prefix)
        events = RedisPublisher(redis, config.redis_prefix)
    else:
        leases, fairness = DatabaseLeases(db), LocalFairness(config.fairness)
    return WorkerContext(
        db=db,
        runner=runner,
        sender=sender,
        leases=leases,
        fairness=fairness,
        enqueue=enqueue,
        config=config,
        events=events,
    )


def install(factory: ContextFactory | None) -> None:
    """Use ``factory`` for this process's context (before the first task runs)."""
    global _factory, _context
    with _lock:
        _factory, _context = factory, None


def _named_factory() -> ContextFactory:
    spec = os.environ.get("FRONTDESK_WORKER_CONTEXT", "")
    if ":" not in spec:
        raise UserError(
            "no worker context: the composition root must call workers.runtime.install(factory) "
            "or set FRONTDESK_WORKER_CONTEXT=module:function"
        )
    module, _, name = spec.partition(":")
    factory: ContextFactory = getattr(importlib.import_module(module), name)
    return factory


def context(config: WorkerConfig, enqueue: Enqueuer) -> WorkerContext:
    """This process's context, built on first use."""
    global _context
    with _lock:
        if _context is None:
            factory = _factory or _named_factory()
            _context = factory(config, enqueue)
            # What the context loaded (models, graphs, clients) lives as long as the process:
            # keep the cyclic collector from walking it again and again under load.
            gc.freeze()
        return _context


def current() -> WorkerContext | None:
    return _context


def reset() -> None:
    """Forget the context (tests)."""
    global _context
    with _lock:
        if _context is not None:
            _context.close()
        _context = None
